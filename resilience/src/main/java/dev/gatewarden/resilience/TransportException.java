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

  /**
   * A failure while reading a body whose headers had arrived: a {@code TIMEOUT} when the attempt's
   * time ran out or a read timed out, else an {@code INVALID_RESPONSE} (cut short: premature close,
   * reset, broken chunking).
   */
  static TransportException bodyFailed(
      IOException e, boolean outOfTime, java.time.Duration timeout) {
    if (outOfTime || e instanceof java.net.SocketTimeoutException) {
      return timedOut("body not received", timeout, e);
    }
    return new TransportException(
        FailureCause.INVALID_RESPONSE, "body cut short after the headers", e);
  }

  /** Why the attempt failed. */
  public FailureCause failureCause() {
    return failureCause;
  }
}
