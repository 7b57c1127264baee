package dev.gatewarden.filter;

import dev.gatewarden.cache.StoreDecision;
import dev.gatewarden.resilience.FailureCause;
import dev.gatewarden.resilience.LogText;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The filter's log lines: one WARN line per incident (what failed, why, and what the client got),
 * the stack trace at DEBUG, and the cache's decisions at DEBUG. Values that come from the request
 * are stripped of control characters so that a crafted path cannot forge log lines.
 */
final class IncidentLog {
  private static final Logger LOG = LoggerFactory.getLogger("dev.gatewarden.filter");

  void incident(
      Exchange ex,
      FailureCause cause,
      Outcome outcome,
      int sentStatus,
      int failedStatus,
      Throwable failure) {
    if (!LOG.isWarnEnabled()) {
      return;
    }
    LOG.warn(
        "gatewarden incident: {} {} route={} cause={} answered={} status={} app_status={} request_id={}"
            + " detail=\"{}\" remedy=\"{}\"",
        ex.request().getMethod(),
        LogText.clean(ex.request().getRequestURI()),
        ex.route().name(),
        cause.tag(),
        outcome.tag(),
        sentStatus,
        failedStatus == 0 ? "-" : Integer.toString(failedStatus),
        ex.requestId(),
        failure == null ? cause.description() : LogText.describe(failure),
        cause.remedy());
    if (failure != null && LOG.isDebugEnabled()) {
      LOG.debug("gatewarden incident request_id=" + ex.requestId() + " stack trace", failure);
    }
  }

  void failedWhileStreaming(Exchange ex, FailureCause cause, Throwable failure) {
    LOG.warn(
        "gatewarden incident: {} {} route={} cause={} answered=aborted request_id={} detail=\"{}\""
            + " note=\"the app failed after {} bytes had been streamed to the client ({}); no fallback"
            + " is possible, so the connection is aborted\"",
        ex.request().getMethod(),
        LogText.clean(ex.request().getRequestURI()),
        ex.route().name(),
        cause.tag(),
        ex.requestId(),
        LogText.describe(failure),
        ex.capture().streamedBytes(),
        ex.capture().streamingReason());
    if (LOG.isDebugEnabled()) {
      LOG.debug("gatewarden incident request_id=" + ex.requestId() + " stack trace", failure);
    }
  }

  void streamingStarted(Exchange ex, String reason) {
    if (LOG.isDebugEnabled()) {
      LOG.debug(
          "gatewarden streaming {} route={} request_id={}: {}; no fallback possible from here",
          LogText.clean(ex.request().getRequestURI()),
          ex.route().name(),
          ex.requestId(),
          reason);
    }
  }

  void storeDecision(Exchange ex, StoreDecision decision) {
    if (LOG.isDebugEnabled()) {
      LOG.debug(
          "gatewarden stale cache {} route={} request_id={}: {}",
          LogText.clean(ex.request().getRequestURI()),
          ex.route().name(),
          ex.requestId(),
          decision);
    }
  }

  void lateCompletion(Exchange ex) {
    LOG.debug(
        "gatewarden async request completed by the container request_id={}; it was passed through",
        ex.requestId());
  }
}
