package dev.gatewarden.resilience;

/**
 * Checks a complete response before the caller sees it; a response it rejects is a failure with
 * cause {@link FailureCause#INVALID_RESPONSE} (retried like any other failure where the policy
 * allows). Must be thread-safe and fast.
 *
 * <pre>{@code
 * ResponseValidator json = r -> r.status() != 200
 *     || String.valueOf(r.header("Content-Type")).startsWith("application/json")
 *     ? null : "expected JSON";
 * }</pre>
 */
@FunctionalInterface
public interface ResponseValidator {
  /**
   * Returns {@code null} if the response is acceptable, else a short reason (logged, not shown).
   */
  String validate(ClientResponse response);
}
