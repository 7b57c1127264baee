package dev.gatewarden.filter;

/**
 * How the filter answered a request: the {@code outcome} tag of {@code gatewarden.server.requests}.
 */
enum Outcome {
  /** The app's own response, sent unchanged (including 4xx and non-failure statuses). */
  OK("ok"),
  /** The app failed and a stale copy was served. */
  STALE("stale"),
  /** The app failed and an error page was served. */
  ERROR_PAGE("error_page"),
  /** The response was streamed to the client as written and completed normally. */
  STREAMED("streamed"),
  /** The app failed after bytes reached the client; the connection was aborted. */
  ABORTED("aborted");

  private final String tag;

  Outcome(String tag) {
    this.tag = tag;
  }

  String tag() {
    return tag;
  }
}
