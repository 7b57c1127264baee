package dev.gatewarden.resilience;

import java.io.IOException;
import java.time.Duration;

/**
 * Sends one attempt of a request over a real HTTP client. Adapters supply it; the engine calls it
 * once per attempt, inside every policy. Implementations must be thread-safe, must read the whole
 * body before returning, and must not reuse a connection whose exchange failed or timed out.
 */
@FunctionalInterface
public interface Transport {
  /**
   * Sends the request and reads the complete response within {@code timeout}.
   *
   * @throws TransportException for a failure the adapter can classify (e.g. a body cut short after
   *     the headers arrived is {@link FailureCause#INVALID_RESPONSE})
   * @throws IOException for any other I/O failure (classified by its type)
   */
  ClientResponse send(ClientRequest request, Duration timeout) throws IOException;
}
