package dev.gatewarden.resilience;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import okhttp3.Headers;
import okhttp3.HttpUrl;
import okhttp3.Interceptor;
import okhttp3.MediaType;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;
import okio.Buffer;

/**
 * The OkHttp (4.x and 5.x) adapter: an application interceptor that sends every call through an
 * {@link Upstream}'s policies. Adopting it is one line:
 *
 * <pre>{@code
 * OkHttpClient client = new OkHttpClient.Builder()
 *     .addInterceptor(new OkHttpInterceptor(Upstream.of(UpstreamPolicy.builder("inventory").build())))
 *     .retryOnConnectionFailure(false) // retries are the engine's: a POST is never sent twice
 *     .build();
 * }</pre>
 *
 * <p>Turn OkHttp's own retry off as shown. It runs below application interceptors, outside the
 * retry budget, and re-sends a request (a POST too) whose pooled connection broke after it was
 * written, so the upstream may get it twice. The engine retries what is safe to retry, connection
 * failures included.
 *
 * <p>Each attempt is one {@code chain.proceed(...)} with connect, read and write timeouts set to
 * the attempt's time (OkHttp's read timeout bounds each read), and a deadline on the response
 * body's source at the end of the attempt's time, so a body that trickles times out too. The body
 * is read whole inside the attempt and the attempt's response is closed, so a failed or timed-out
 * connection goes back to OkHttp, which does not reuse a connection whose exchange failed. Request
 * bodies are buffered once so that retries can replay them. Register it with {@code
 * addInterceptor}, not {@code addNetworkInterceptor}. Thread-safe.
 *
 * <p>OkHttp's own call timeout (or a deadline on the call's timeout) caps the engine too: it does
 * not retry past it, and a call that it cancels fails with {@code TIMEOUT}.
 *
 * <p>A call runs under the {@link Deadline} current on the thread that runs the interceptors: the
 * caller's for {@code execute()}, none for {@code enqueue(...)}, which runs them on OkHttp's
 * dispatcher threads. To cap an enqueued call, tag its request with the deadline:
 *
 * <pre>{@code
 * Request request = new Request.Builder().url(url)
 *     .tag(Deadline.class, Deadline.current().orElse(null))
 *     .build();
 * }</pre>
 */
public final class OkHttpInterceptor implements Interceptor {
  private final Upstream upstream;

  /** The last response type parsed: most upstreams answer with one or two types. */
  private volatile MediaType lastType;

  public OkHttpInterceptor(Upstream upstream) {
    this.upstream = java.util.Objects.requireNonNull(upstream, "upstream");
  }

  @Override
  public Response intercept(Chain chain) throws IOException {
    Deadline callDeadline = callDeadline(chain.call().timeout()); // first: it runs already
    Request request = chain.request();
    MediaType requestType = request.body() == null ? null : request.body().contentType();
    byte[] body = null;
    if (request.body() != null) {
      Buffer buffer = new Buffer();
      request.body().writeTo(buffer);
      body = buffer.readByteArray();
    }
    HttpUrl url = request.url();
    ClientRequest neutral =
        ClientRequest.wrap(
            request.method(),
            new ClientRequest.Target(
                url.scheme(),
                url.host(),
                url.port(),
                url.encodedPath(),
                url.encodedQuery(),
                () -> uri(url)), // never throws: HttpUrl.uri() is the fallback
            view(request.headers()),
            body);
    byte[] requestBytes = body;
    Deadline.Scope scope = deadlines(request, callDeadline);
    ClientResponse response;
    try {
      response =
          upstream.execute(
              neutral,
              (r, timeout) ->
                  attempt(chain, request, requestType, requestBytes, timeout, callDeadline));
    } catch (Upstream.Cancelled c) { // the caller's Call.cancel(): OkHttp's own exception
      throw c.asIoException();
    } finally {
      if (scope != null) {
        scope.close();
      }
    }
    String contentType = response.header("Content-Type");
    Headers headers = HeaderView.sourceOf(response.headers(), Headers.class);
    if (headers == null) { // a stale copy (else the upstream's own, as received)
      Headers.Builder b = new Headers.Builder();
      response
          .headers()
          .forEach((name, values) -> values.forEach(v -> b.addUnsafeNonAscii(name, v)));
      headers = b.build();
    }
    return new Response.Builder()
        .request(request)
        .protocol(Protocol.HTTP_1_1)
        .code(response.status())
        .message(reason(response.status()))
        .headers(headers)
        .body(ResponseBody.create(response.bodyUnsafe(), mediaType(contentType)))
        .build();
  }

  /**
   * OkHttp's own limit on the whole call (its call timeout, or a deadline set on the call's
   * timeout) as a {@link Deadline}, or null: past it OkHttp cancels the call, so the engine must
   * not retry beyond it.
   */
  private static Deadline callDeadline(okio.Timeout timeout) {
    if (timeout.timeoutNanos() == 0 && !timeout.hasDeadline()) {
      return null; // OkHttp's default: no call timeout
    }
    long now = System.nanoTime();
    long left = Long.MAX_VALUE;
    if (timeout.timeoutNanos() > 0) {
      left = timeout.timeoutNanos();
    }
    if (timeout.hasDeadline()) {
      left = Math.min(left, timeout.deadlineNanoTime() - now);
    }
    return left == Long.MAX_VALUE
        ? null
        : Deadline.after(now, Duration.ofNanos(Math.max(0, left)), System::nanoTime);
  }

  /**
   * Makes the earliest of the thread's current deadline, the request's {@code Deadline} tag (for
   * calls that OkHttp runs on its dispatcher's threads: {@code enqueue}) and OkHttp's own call
   * limit current; null when there is neither tag nor call limit.
   */
  private static Deadline.Scope deadlines(Request request, Deadline callDeadline) {
    Deadline tag = request.tag(Deadline.class);
    if (tag == null && callDeadline == null) {
      return null;
    }
    Deadline earliest = Deadline.currentOrNull();
    for (Deadline d : new Deadline[] {tag, callDeadline}) {
      if (d != null) {
        earliest = earliest == null ? d : earliest.min(d.remaining());
      }
    }
    return earliest.makeCurrent();
  }

  /**
   * The URL as a {@link URI}: parsed from its text, which is already encoded; {@code HttpUrl.uri()}
   * re-encodes every component with regular expressions, so it is the fallback for the characters
   * OkHttp accepts and {@code URI} does not.
   */
  private static URI uri(HttpUrl url) {
    try {
      return new URI(url.toString());
    } catch (URISyntaxException e) {
      return url.uri();
    }
  }

  private MediaType mediaType(String contentType) {
    if (contentType == null) {
      return null;
    }
    MediaType last = lastType;
    if (last != null && last.toString().equals(contentType)) {
      return last;
    }
    MediaType parsed = MediaType.parse(contentType);
    if (parsed != null) {
      lastType = parsed;
    }
    return parsed;
  }

  private static ClientResponse attempt(
      Chain chain,
      Request request,
      MediaType type,
      byte[] body,
      Duration timeout,
      Deadline callDeadline)
      throws IOException {
    int millis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    Chain timed = chain; // each with… makes a new chain: only where a timeout changes
    if (timed.connectTimeoutMillis() != millis) {
      timed = timed.withConnectTimeout(millis, TimeUnit.MILLISECONDS);
    }
    if (timed.readTimeoutMillis() != millis) {
      timed = timed.withReadTimeout(millis, TimeUnit.MILLISECONDS);
    }
    if (timed.writeTimeoutMillis() != millis) {
      timed = timed.withWriteTimeout(millis, TimeUnit.MILLISECONDS);
    }
    Request attempt =
        body == null
            ? request
            : request.newBuilder().method(request.method(), RequestBody.create(body, type)).build();
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      return attempt(timed, attempt, request, deadline, timeout);
    } catch (IOException e) {
      if (!chain.call().isCanceled()) {
        throw e;
      }
      if (callDeadline != null
          && callDeadline.remainingNanos(System.nanoTime()) < CALL_TIMEOUT_SLACK_NANOS) {
        // OkHttp's own call timeout cancelled it (inside the interceptor the exception says only
        // that the socket closed): a timeout, and the engine does not retry past that limit
        throw TransportException.timedOut(
            "call not completed within OkHttp's call timeout", timeout, e);
      }
      throw new Upstream.Cancelled( // the caller gave up
          e instanceof TransportException && e.getCause() instanceof IOException
              ? (IOException) e.getCause() // OkHttp's own, not our classification of it
              : e);
    }
  }

  /**
   * How much later than OkHttp's own call timer ours may run out: OkHttp starts its timer before
   * the interceptors run, ours when this one starts. An application interceptor before this one
   * that takes longer makes OkHttp's call timeout look like the caller's cancel: add this one
   * first.
   */
  private static final long CALL_TIMEOUT_SLACK_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

  /** Whether OkHttp's own follow-up step threw {@code e} while it read a Retry-After header. */
  private static boolean isOkHttpReadingRetryAfter(NumberFormatException e) {
    for (StackTraceElement frame : e.getStackTrace()) {
      if (frame.getClassName().startsWith("okhttp3.internal.http.RetryAndFollowUpInterceptor")
          && frame.getMethodName().equals("retryAfter")) {
        return true;
      }
    }
    return false;
  }

  private static ClientResponse attempt(
      Chain timed, Request attempt, Request request, long deadline, Duration timeout)
      throws IOException {
    Response received;
    try {
      received = timed.proceed(attempt);
    } catch (NumberFormatException e) {
      if (!isOkHttpReadingRetryAfter(e)) {
        throw e;
      }
      // OkHttp's follow-up step (4.12 and 5.x, below every application interceptor) reads a 503's
      // (and, with retryOnConnectionFailure on, a 408's) all-digit Retry-After with
      // Integer.valueOf and throws on one too long for an int: a reply the client cannot read,
      // which the engine retries after its backoff
      throw new TransportException(
          FailureCause.INVALID_RESPONSE,
          "OkHttp could not read the upstream's Retry-After (" + e.getMessage() + ")",
          e);
    }
    try (Response response = received) {
      byte[] bytes;
      try {
        ResponseBody rb = response.body();
        if (rb == null) {
          bytes = new byte[0];
        } else {
          // The read timeout bounds each read; a deadline on the body's source bounds the whole
          // body, so one that trickles times out too (okio then closes the connection).
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            throw new java.net.SocketTimeoutException("body not received within " + timeout);
          }
          rb.source().timeout().deadline(left, TimeUnit.NANOSECONDS);
          bytes = rb.bytes();
        }
      } catch (IOException e) {
        throw TransportException.bodyFailed(e, false, timeout); // okio's deadline: a read timeout
      }
      ClientResponse neutral =
          ClientResponse.wrap(response.code(), view(response.headers()), bytes);
      return sentOwnCredentials(request, response.networkResponse())
          ? neutral.asPersonal()
          : neutral;
    } // a malformed status line or headers (ProtocolException): the engine's INVALID_RESPONSE
  }

  /**
   * Whether the request that reached the network carried a cookie or credentials that the caller's
   * did not: OkHttp's cookie jar and authenticator add them below application interceptors, so the
   * response may be one user's.
   */
  private static boolean sentOwnCredentials(Request asked, Response network) {
    if (network == null) {
      return false;
    }
    Request sent = network.request();
    return (sent.header("Cookie") != null && asked.header("Cookie") == null)
        || (sent.header("Authorization") != null && asked.header("Authorization") == null);
  }

  /** OkHttp's headers (immutable) as a map. */
  private static HeaderView view(Headers headers) {
    return HeaderView.over(
        headers,
        Headers::values,
        (all, line) -> {
          for (int i = 0, n = all.size(); i < n; i++) {
            line.accept(all.name(i), all.value(i));
          }
        });
  }

  private static String reason(int status) {
    return status >= 500 ? "Server Error" : status >= 400 ? "Client Error" : "OK";
  }
}
