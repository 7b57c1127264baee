package dev.gatewarden.resilience;

import java.util.Locale;

/**
 * Why a request failed: the one taxonomy that Gatewarden's filter, its HTTP clients, its metrics
 * (the {@code cause} tag), its logs and its status page share. Each cause carries a short remedy
 * for the operator; none of this text is ever shown to end users.
 *
 * <p>Use {@link #classify(Throwable)} to classify an exception. Immutable and thread-safe.
 */
public enum FailureCause {
  /** A deadline or timeout passed before the work finished. */
  TIMEOUT(
      "A deadline passed before the work finished.",
      "Find the slow dependency (database query, upstream call); give it its own shorter timeout, "
          + "or raise the route's timeout while keeping it below the proxy's."),
  /** A connection could not be made or was reset before a response arrived. */
  CONNECT(
      "A connection was refused, unreachable or reset before a response.",
      "Check that the upstream is running and listening, and that pools do not reuse dead connections."),
  /** A host name could not be resolved. */
  DNS(
      "A host name could not be resolved.",
      "Check the host name in the configuration and the resolver (and its caching) on this machine."),
  /** The TLS handshake or a TLS record failed. */
  TLS(
      "A TLS handshake or record failed.",
      "Check certificates, their expiry and trust store, and the protocol versions both sides allow."),
  /**
   * The component behind this one (the application, or an upstream service) answered a 5xx status.
   */
  UPSTREAM_STATUS(
      "The application or an upstream answered with a failure status.",
      "Look at the application's or the upstream's own logs for this request id."),
  /** A response was truncated or malformed (body shorter or longer than its Content-Length, …). */
  INVALID_RESPONSE(
      "A response was truncated or malformed.",
      "Look for code that writes a Content-Length it does not honour, or an upstream that closes early."),
  /** Shed by a concurrency limit or bulkhead. */
  OVERLOAD(
      "The request was shed by a concurrency limit or bulkhead.",
      "Add capacity, or find what holds requests for long (slow dependencies) and bound it."),
  /** Refused because a circuit breaker is open. */
  CIRCUIT_OPEN(
      "A circuit breaker is open after repeated failures.",
      "Fix the failing dependency; the breaker closes by itself once trial calls succeed."),
  /** An SQL or connection-pool error was found in the exception's cause chain. */
  DATABASE(
      "The database or its connection pool failed.",
      "Check the database's health, the pool's size and timeouts, and slow queries."),
  /** Any other exception thrown by application code. */
  APPLICATION(
      "The application threw an exception.",
      "Read the stack trace logged at DEBUG under dev.gatewarden for this request id, and fix the code.");

  private final String description;
  private final String remedy;
  private final String tag;

  FailureCause(String description, String remedy) {
    this.description = description;
    this.remedy = remedy;
    this.tag = name().toLowerCase(Locale.ROOT);
  }

  /** One sentence saying what happened. */
  public String description() {
    return description;
  }

  /** One or two sentences saying what an operator can do about it. */
  public String remedy() {
    return remedy;
  }

  /** The lower-case name used as a metrics tag value and in logs, e.g. {@code "database"}. */
  public String tag() {
    return tag;
  }

  /**
   * Classifies an exception by walking its cause chain (and suppressed exceptions are ignored). The
   * most specific evidence wins: a database error anywhere in the chain is {@link #DATABASE}, even
   * when it surfaced as a timeout; a Gatewarden client's {@link UpstreamException} keeps the cause
   * it was given; then the first timeout or connection error along the chain, where a DNS or TLS
   * failure inside a connection error names it (why the connection failed); otherwise {@link
   * #APPLICATION}.
   *
   * @param failure the exception; {@code null} gives {@link #APPLICATION}
   * @return the cause, never {@code null}
   */
  public static FailureCause classify(Throwable failure) {
    return FailureClassifier.classify(failure);
  }
}
