package dev.gatewarden.resilience;

import java.io.IOException;

/**
 * A call to an upstream failed after every attempt the policy allowed, and no stale copy could be
 * served. Carries the upstream's name and the {@link FailureCause}; the message names both and
 * never any response body.
 */
public final class UpstreamException extends IOException {
  private static final long serialVersionUID = 1L;

  private final String upstream;
  private final FailureCause failureCause;
  private final int attempts;

  UpstreamException(
      String upstream, FailureCause cause, int attempts, String detail, Throwable last) {
    super(
        "upstream \""
            + upstream
            + "\" failed ("
            + cause.tag()
            + ") after "
            + attempts
            + (attempts == 1 ? " attempt" : " attempts")
            + (detail == null ? "" : ": " + detail),
        last);
    this.upstream = upstream;
    this.failureCause = cause;
    this.attempts = attempts;
  }

  /** The upstream's name. */
  public String upstream() {
    return upstream;
  }

  /** Why it failed. */
  public FailureCause failureCause() {
    return failureCause;
  }

  /** How many attempts reached the transport (0 when failed fast, e.g. breaker open). */
  public int attempts() {
    return attempts;
  }
}
