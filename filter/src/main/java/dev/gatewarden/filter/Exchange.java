package dev.gatewarden.filter;

import dev.gatewarden.cache.CachePolicy;
import dev.gatewarden.cache.StaleCopy;
import dev.gatewarden.cache.StoreDecision;
import dev.gatewarden.resilience.FailureCause;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One request's trip through the filter: its route, id and capture, and the single place where the
 * outcome is decided — classify, then store and send the captured response, or send a stale copy or
 * an error page instead. {@link #finish} runs exactly once, on the request thread when the app
 * returned, or in an async callback ({@code complete()}, {@code onTimeout}, {@code onError}); an
 * {@link AtomicBoolean} makes the first caller win when those race.
 */
final class Exchange {
  private static final Set<String> UNSAFE_METHODS = Set.of("POST", "PUT", "PATCH", "DELETE");

  private final FilterRuntime runtime;
  private final HttpServletRequest request;
  private final HttpServletResponse response;
  private final Route route;
  private final String requestId;
  private final long startNanos;
  private final CapturingResponse capture;
  private final AtomicBoolean finished = new AtomicBoolean();
  private final AtomicBoolean recorded = new AtomicBoolean();
  private GatewardenAsyncContext asyncContext;

  Exchange(
      FilterRuntime runtime,
      HttpServletRequest request,
      HttpServletResponse response,
      Route route,
      String requestId) {
    this.runtime = runtime;
    this.request = request;
    this.response = response;
    this.route = route;
    this.requestId = requestId;
    this.startNanos = System.nanoTime();
    this.capture = new CapturingResponse(response, this, runtime.config().bufferSize());
  }

  Route route() {
    return route;
  }

  String requestId() {
    return requestId;
  }

  CapturingResponse capture() {
    return capture;
  }

  List<String> streamingContentTypes() {
    return runtime.config().streamingContentTypes();
  }

  boolean isFinished() {
    return finished.get();
  }

  /** Puts back the headers the filter owns after the app (or the filter) reset the response. */
  void restoreOwnHeaders() {
    response.setHeader(runtime.config().requestIdHeader(), requestId);
  }

  void streamingStarted(String reason) {
    runtime.log().streamingStarted(this, reason);
  }

  // ---- async --------------------------------------------------------------------------------

  synchronized AsyncContext asyncStarted(AsyncContext real) {
    if (asyncContext == null || asyncContext.real() != real) {
      asyncContext = new GatewardenAsyncContext(real, this);
    }
    return asyncContext;
  }

  synchronized GatewardenAsyncContext asyncContext() {
    return asyncContext;
  }

  /**
   * Called when the app's dispatch returned with async started: finish in the callbacks instead.
   */
  void finishLater(AsyncContext real) {
    real.addListener(new Listener());
  }

  private final class Listener implements AsyncListener {
    @Override
    public void onTimeout(AsyncEvent event) throws IOException {
      if (finishAsync(new AsyncTimeout())) {
        event.getAsyncContext().complete();
      }
    }

    @Override
    public void onError(AsyncEvent event) throws IOException {
      Throwable t = event.getThrowable();
      if (finishAsync(t != null ? t : new IllegalStateException("async error"))) {
        event.getAsyncContext().complete();
      }
    }

    @Override
    public void onComplete(AsyncEvent event) throws IOException {
      // Normally complete() already finished the exchange; this covers dispatch() and
      // container-side
      // completion, and in every case releases what the request held.
      if (!isFinished()) {
        runtime.log().lateCompletion(Exchange.this);
        finished.set(true);
        record(Outcome.STREAMED, null);
      }
    }

    @Override
    public void onStartAsync(AsyncEvent event) {
      event.getAsyncContext().addListener(this);
    }
  }

  /** An async request's timeout, as a failure with cause {@link FailureCause#TIMEOUT}. */
  static final class AsyncTimeout extends java.util.concurrent.TimeoutException {
    private static final long serialVersionUID = 1L;

    AsyncTimeout() {
      super("async request timed out");
    }
  }

  /**
   * Finishes an async exchange from a callback; returns whether the caller should now complete the
   * context. It should not when another callback finished first, nor when the response was already
   * streaming: then the container's own error handling must abort the connection, because
   * completing would end a truncated body as if it were whole.
   */
  boolean finishAsync(Throwable failure) throws IOException {
    return finish(failure) == Finish.SENT;
  }

  /** How {@link #finish} ended. */
  enum Finish {
    /** The client got (or is getting) one complete response. */
    SENT,
    /** Another thread finished this exchange first; nothing was done. */
    ALREADY_FINISHED,
    /** The app failed after bytes reached the client: the connection must be aborted. */
    FAILED_WHILE_STREAMING
  }

  // ---- the decision --------------------------------------------------------------------------

  /**
   * Decides and sends the response, once. When it returns {@link Finish#FAILED_WHILE_STREAMING} the
   * caller must let the failure reach the container (rethrow it), so that the container aborts the
   * connection rather than end a truncated body as if it were complete.
   */
  Finish finish(Throwable failure) throws IOException {
    if (!finished.compareAndSet(false, true)) {
      return Finish.ALREADY_FINISHED;
    }
    capture.drainWriter();
    if (capture.isStreaming() && failure != null && !response.isCommitted()) {
      // The app failed after streaming began but before anything reached the client (the bytes
      // are still in the container's buffer): the response can still be replaced as a whole.
      response.resetBuffer();
      capture.leaveStreaming();
    }
    if (!capture.isStreaming()) {
      // Decided from what was captured so far; a late write (another thread) must not change it.
      capture.discardFurtherWrites();
    }
    if (capture.isStreaming()) {
      if (failure != null) {
        FailureCause cause = FailureCause.classify(failure);
        runtime.log().failedWhileStreaming(this, cause, failure);
        record(Outcome.ABORTED, cause);
        return Finish.FAILED_WHILE_STREAMING;
      }
      record(Outcome.STREAMED, null);
      return Finish.SENT;
    }

    FailureCause cause = null;
    int failedStatus = 0;
    String method = request.getMethod();
    boolean head = "HEAD".equals(method);
    int status = capture.getStatus();
    if (failure != null) {
      cause = FailureCause.classify(failure);
    } else if (route.isFailureStatus(status)) {
      cause = FailureCause.UPSTREAM_STATUS;
      failedStatus = status;
    } else if (capture.errorStatus() < 0
        && capture.redirectLocation() == null
        && !head
        && status != HttpServletResponse.SC_NO_CONTENT
        && status != HttpServletResponse.SC_NOT_MODIFIED
        && capture.declaredLength() != -1
        && capture.declaredLength() != capture.bufferedLength()) {
      cause = FailureCause.INVALID_RESPONSE;
      failedStatus = status;
    }

    if (cause == null) {
      succeed(method, status, head);
      return Finish.SENT;
    }
    fallBack(cause, failedStatus, failure, head);
    return Finish.SENT;
  }

  /**
   * When deciding or sending failed unexpectedly (a bug, or the container refusing a replayed value
   * such as a redirect location): the error page if nothing reached the client yet, so the
   * container's own page (which may show the exception) never does; otherwise the caller must let
   * the failure reach the container, which aborts the connection.
   */
  Finish lastResort(RuntimeException e) throws IOException {
    if (response.isCommitted()) {
      runtime.log().failedWhileStreaming(this, FailureCause.APPLICATION, e);
      record(Outcome.ABORTED, FailureCause.APPLICATION);
      return Finish.FAILED_WHILE_STREAMING;
    }
    response.reset();
    restoreOwnHeaders();
    sendErrorPage(FailureCause.APPLICATION, 0, e);
    return Finish.SENT;
  }

  private void succeed(String method, int status, boolean head) throws IOException {
    CachePolicy policy = route.cache();
    if (UNSAFE_METHODS.contains(method) && status >= 200 && status < 400) {
      runtime.cache().invalidate(cacheRequest());
    } else if (status == 200
        && "GET".equals(method)
        && capture.errorStatus() < 0
        && capture.redirectLocation() == null
        && policy.enabled()) {
      ServletCacheRequest cr = cacheRequest();
      // The response rules first: most uncacheable pages say so (no-store, a cookie) in a header
      // or two, and then neither the request rules nor collecting every header is needed.
      StoreDecision decision = runtime.cache().checkResponse(status, this::responseHeader);
      if (decision.stored()) {
        decision = runtime.cache().checkRequest(cr, policy);
      }
      if (decision.stored() && runtime.cache().hasRecentCopy(cr)) {
        decision = StoreDecision.RECENT_COPY_KEPT; // spares collecting every header on busy pages
      }
      if (decision.stored()) {
        decision =
            runtime
                .cache()
                .store(
                    cr,
                    status,
                    responseHeaders(),
                    capture.buffer(),
                    0,
                    capture.bufferedLength(),
                    policy);
      }
      runtime.log().storeDecision(this, decision);
    }
    // Metrics and logs are recorded before the last byte goes out: once it has, the client may
    // already act on the response (and a test may already read the meter).
    record(Outcome.OK, null);
    capture.commitCaptured(head);
  }

  private void fallBack(FailureCause cause, int failedStatus, Throwable failure, boolean head)
      throws IOException {
    Optional<StaleCopy> copy = Optional.empty();
    String method = request.getMethod();
    if (("GET".equals(method) || head) && route.cache().enabled()) {
      copy = runtime.cache().lookup(cacheRequest(), route.cache());
    }
    response.reset();
    restoreOwnHeaders();
    if (copy.isPresent()) {
      StaleCopy c = copy.get();
      response.setStatus(c.response().status());
      for (Map.Entry<String, List<String>> h : c.response().headers().entrySet()) {
        if (h.getKey().equalsIgnoreCase("Content-Length")) {
          continue;
        }
        // set, then add: the stored value replaces what the container already put there (Jetty
        // sets Server and Date up front), so no header is sent twice.
        boolean first = true;
        for (String v : h.getValue()) {
          if (first) {
            response.setHeader(h.getKey(), v);
            first = false;
          } else {
            response.addHeader(h.getKey(), v);
          }
        }
      }
      response.setHeader("Age", Long.toString(c.ageSeconds()));
      response.setHeader("Cache-Status", c.cacheStatus("Gatewarden", failedStatus));
      if (head || c.response().bodyLength() > response.getBufferSize()) {
        // Otherwise the container sets it with the headers when the response completes, which
        // spares a blocking flush on this thread (see CapturingResponse.commitCaptured).
        response.setContentLength(c.response().bodyLength());
      }
      // Logged and recorded before the body goes out: once it has, the client may act on it.
      runtime
          .log()
          .incident(this, cause, Outcome.STALE, c.response().status(), failedStatus, failure);
      record(Outcome.STALE, cause);
      if (!head) {
        c.response().writeBodyTo(response.getOutputStream());
      }
      return;
    }
    sendErrorPage(cause, failedStatus, failure);
  }

  /** The error page for a cause, logged and recorded first, on a response already reset. */
  private void sendErrorPage(FailureCause cause, int failedStatus, Throwable failure)
      throws IOException {
    int status = errorStatus(cause, failedStatus);
    long retryAfter = status == 503 ? runtime.config().retryAfter().toSeconds() : 0;
    runtime.log().incident(this, cause, Outcome.ERROR_PAGE, status, failedStatus, failure);
    record(Outcome.ERROR_PAGE, cause);
    runtime.errorPages().write(request, response, status, requestId, retryAfter);
  }

  static int errorStatus(FailureCause cause, int failedStatus) {
    switch (cause) {
      case UPSTREAM_STATUS:
        return failedStatus >= 500 && failedStatus <= 599 ? failedStatus : 502;
      case TIMEOUT:
        return 504;
      case INVALID_RESPONSE:
      case TLS:
        return 502;
      case DATABASE:
      case CONNECT:
      case DNS:
      case OVERLOAD:
      case CIRCUIT_OPEN:
        return 503;
      default:
        return 500;
    }
  }

  private List<String> responseHeader(String name) {
    if (response.getHeader(name) == null) {
      return null; // the common case, without building a collection
    }
    return new ArrayList<>(response.getHeaders(name));
  }

  private Map<String, List<String>> responseHeaders() {
    Map<String, List<String>> headers = new LinkedHashMap<>();
    Collection<String> names = response.getHeaderNames();
    for (String name : names) {
      if (!headers.containsKey(name)) {
        headers.put(name, new ArrayList<>(response.getHeaders(name)));
      }
    }
    // Some containers (Tomcat) keep Content-Type outside the header list until commit.
    String contentType = response.getContentType();
    if (contentType != null
        && headers.keySet().stream().noneMatch("Content-Type"::equalsIgnoreCase)) {
      headers.put("Content-Type", List.of(contentType));
    }
    headers.keySet().removeIf(runtime.config().requestIdHeader()::equalsIgnoreCase);
    return headers;
  }

  private ServletCacheRequest cacheRequest() {
    return new ServletCacheRequest(request, runtime.config().canonicalHost());
  }

  private void record(Outcome outcome, FailureCause cause) {
    if (recorded.compareAndSet(false, true)) {
      runtime.metrics().record(route.name(), outcome, cause, System.nanoTime() - startNanos);
    }
  }

  HttpServletRequest request() {
    return request;
  }
}
