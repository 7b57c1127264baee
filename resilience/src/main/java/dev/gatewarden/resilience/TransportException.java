package dev.gatewarden.resilience;

import java.io.IOException;

/** An I/O failure of one attempt that the adapter has classified. */
public class TransportException extends IOException {
  private static final long serialVersionUID = 1L;

  private final FailureCause failureCause;

  public TransportException(FailureCause cause, String message, Throwable underlying) {
    super(message, underlying);
    this.failureCause = cause;
  }

  /** An attempt that ran out of time: "{@code what} within {@code timeout}". */
  static TransportException timedOut(String what, java.time.Duration timeout, Throwable cause) {
    return new TransportException(FailureCause.TIMEOUT, what + " within " + timeout, cause);
  }

  /** Why the attempt failed. */
  public FailureCause failureCause() {
    return failureCause;
  }
}
