package dev.gatewarden.resilience;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpRequest;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.client.ClientHttpRequestExecution;
import org.springframework.http.client.ClientHttpRequestInterceptor;
import org.springframework.http.client.ClientHttpResponse;

/**
 * The Spring adapter: a {@link ClientHttpRequestInterceptor} for {@code RestClient} and {@code
 * RestTemplate} that sends every request through an {@link Upstream}'s policies. Adopting it is one
 * line:
 *
 * <pre>{@code
 * RestClient client = RestClient.builder()
 *     .requestInterceptor(new SpringClientInterceptor(Upstream.of(UpstreamPolicy.builder("inventory").build())))
 *     .build();
 * // or: restTemplate.getInterceptors().add(new SpringClientInterceptor(upstream));
 * }</pre>
 *
 * <p>Each attempt is one {@code execution.execute(...)}; its body is read whole and the attempt's
 * response closed before the engine decides. The engine reads the request's own headers (never
 * writing them), so credentials that a later interceptor adds count for the no-store rules, and the
 * caller gets the factory's response headers as they came. Spring gives an interceptor no per-call
 * timeout. With {@code JdkClientHttpRequestFactory} (RestClient's default when no other client
 * library is on the classpath) the interceptor bounds each whole attempt, headers and body, by
 * itself. Other factories (Apache, Jetty, Reactor, {@code SimpleClientHttpRequestFactory}) cannot
 * be aborted from outside: give them connect and read timeouts, which bound each read; the engine
 * still enforces the total timeout and the current {@link Deadline} between attempts. Thread-safe.
 */
public final class SpringClientInterceptor implements ClientHttpRequestInterceptor {
  /** Spring's response for {@code JdkClientHttpRequestFactory}: a package-private class. */
  private static final String JDK_CLIENT_RESPONSE =
      "org.springframework.http.client.JdkClientHttpResponse";

  /** Spring's response for {@code SimpleClientHttpRequestFactory} (HttpURLConnection). */
  private static final String SIMPLE_CLIENT_RESPONSE =
      "org.springframework.http.client.SimpleClientHttpResponse";

  private final Upstream upstream;

  public SpringClientInterceptor(Upstream upstream) {
    this.upstream = java.util.Objects.requireNonNull(upstream, "upstream");
  }

  @Override
  public ClientHttpResponse intercept(
      HttpRequest request, byte[] body, ClientHttpRequestExecution execution) throws IOException {
    // Spring's own headers and body, read and never written: nothing is copied per call
    ClientRequest neutral =
        ClientRequest.wrap(
            request.getMethod().name(),
            ClientRequest.Target.of(request.getURI()),
            view(request.getHeaders()),
            body);
    ClientResponse response;
    try {
      response =
          upstream.execute(neutral, (r, timeout) -> attempt(request, body, execution, timeout));
    } catch (Upstream.Cancelled c) { // interrupted between attempts
      throw c.asIoException();
    }
    return new Buffered(response);
  }

  private static ClientResponse attempt(
      HttpRequest request, byte[] body, ClientHttpRequestExecution execution, Duration timeout)
      throws IOException {
    // The request factory's timeouts apply per read at best. The watchdog bounds the whole attempt
    // for the JDK HttpClient's factory (RestClient's default): an interrupt ends the exchange while
    // the headers are awaited, and closing the body stream ends a read (as Spring's own timeout for
    // that factory does). Other factories' streams drain when closed, so there the factory's read
    // timeout applies.
    AtomicReference<InputStream> abortable = new AtomicReference<>();
    AttemptWatchdog watchdog =
        AttemptWatchdog.interrupting(timeout, () -> closeQuietly(abortable.get()));
    try (ClientHttpResponse response = execution.execute(request, body)) {
      int status;
      try {
        status = response.getStatusCode().value();
      } catch (IllegalArgumentException e) { // HttpURLConnection's -1: a reply that is not HTTP
        throw new TransportException(FailureCause.INVALID_RESPONSE, "no HTTP status line", e);
      }
      HttpHeaders headers = response.getHeaders();
      byte[] bytes;
      try {
        // Not closed here: the response's close() ends the stream, and Spring's JDK response
        // drains it first, which on a closed stream costs a thrown IOException per call.
        InputStream in = response.getBody();
        if (JDK_CLIENT_RESPONSE.equals(response.getClass().getName())) {
          abortable.set(in);
        }
        long declared = declaredLength(headers);
        bytes = BodyReader.readAll(in, declared);
        if (bytes.length < declared && mustHaveBody(request, status, headers, response)) {
          // HttpURLConnection (SimpleClientHttpRequestFactory, RestTemplate's default) ends a body
          // that the server cut short like a whole one; other factories throw
          throw new java.io.EOFException(
              "body of " + bytes.length + " bytes, shorter than its Content-Length " + declared);
        }
      } catch (IOException e) {
        throw TransportException.bodyFailed(e, watchdog.disarm(), timeout);
      }
      watchdog.disarm(); // a complete body stands, even if the time ran out just after it
      return ClientResponse.wrap(status, view(headers), bytes);
    } catch (IOException e) {
      if (watchdog.disarm() && !(e instanceof TransportException)) {
        throw TransportException.timedOut("response not received", timeout, e);
      }
      throw e;
    } finally {
      watchdog.disarm();
    }
  }

  /**
   * The declared body length, -1 when absent or no number: only a hint for reading, so a value that
   * the factory tolerated (HttpURLConnection reads such a body to the end) never fails the call, as
   * Spring's own {@code getContentLength()} would by throwing.
   */
  private static long declaredLength(HttpHeaders headers) {
    String value = headers.getFirst(HttpHeaders.CONTENT_LENGTH);
    if (value == null) {
      return -1;
    }
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * Whether the response must carry its declared number of bytes: not for a HEAD, a 1xx, 204 or
   * 304, not when chunked framing overrides the length, nor when a factory that decodes bodies may
   * have decoded this one: only HttpURLConnection's is known never to (the JDK client throws on a
   * short body by itself).
   */
  private static boolean mustHaveBody(
      HttpRequest request, int status, HttpHeaders headers, ClientHttpResponse response) {
    if ("HEAD".equals(request.getMethod().name())
        || status < 200
        || status == 204
        || status == 304
        || headers.containsKey(HttpHeaders.TRANSFER_ENCODING)) {
      return false;
    }
    String encoding = headers.getFirst(HttpHeaders.CONTENT_ENCODING);
    if (encoding == null || encoding.trim().equalsIgnoreCase("identity")) {
      return true;
    }
    String type = response.getClass().getName();
    return type.equals(SIMPLE_CLIENT_RESPONSE);
  }

  private static void closeQuietly(InputStream in) {
    if (in != null) {
      try {
        in.close();
      } catch (IOException | RuntimeException e) {
        // the attempt is being abandoned; its reader sees the stream closed
      }
    }
  }

  /** Spring's headers as the neutral model's map (case-insensitive lookups, no copy). */
  private static HeaderView view(HttpHeaders headers) {
    return HeaderView.over(
        headers,
        (h, name) -> {
          java.util.List<String> values = h.get(name);
          return values == null ? null : java.util.Collections.unmodifiableList(values);
        },
        (h, line) -> h.forEach((name, values) -> values.forEach(v -> line.accept(name, v))));
  }

  /** The engine's buffered response, as Spring's. */
  private static final class Buffered implements ClientHttpResponse {
    private final ClientResponse response;
    private final HttpHeaders headers;

    Buffered(ClientResponse response) {
      this.response = response;
      HttpHeaders received = HeaderView.sourceOf(response.headers(), HttpHeaders.class);
      if (received != null) {
        headers = received; // the upstream's own, as the factory gave them
      } else { // a stale copy
        headers = new HttpHeaders();
        response.headers().forEach(headers::addAll);
      }
    }

    @Override
    public HttpStatusCode getStatusCode() {
      return HttpStatusCode.valueOf(response.status());
    }

    @Override
    public String getStatusText() {
      return "";
    }

    @Override
    public HttpHeaders getHeaders() {
      return headers;
    }

    @Override
    public InputStream getBody() {
      return new ByteArrayInputStream(response.bodyUnsafe());
    }

    @Override
    public void close() {}
  }
}
