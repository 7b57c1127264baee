package dev.gatewarden.resilience;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import org.apache.hc.client5.http.classic.ExecChain;
import org.apache.hc.client5.http.classic.ExecChainHandler;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.core5.http.ClassicHttpRequest;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.HttpException;
import org.apache.hc.core5.http.HttpHost;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.support.ClassicRequestBuilder;
import org.apache.hc.core5.http.message.BasicClassicHttpResponse;
import org.apache.hc.core5.net.URIAuthority;
import org.apache.hc.core5.util.Timeout;

/**
 * The Apache HttpClient 5 (classic) adapter: an exec-chain handler that sends every request through
 * an {@link Upstream}'s policies. Adopting it is one line on the builder (and Apache's own retries
 * go, since the engine retries with a budget):
 *
 * <pre>{@code
 * CloseableHttpClient client = HttpClients.custom()
 *     .addExecInterceptorFirst("gatewarden", new ApacheExecHandler(upstream))
 *     .disableAutomaticRetries()
 *     .build();
 * }</pre>
 *
 * <p>Each attempt is one {@code chain.proceed(...)} with the connection-request timeout (waiting
 * for the pool) and the response timeout (per read) set to the attempt's time, and a watchdog that
 * closes the attempt's connection when that time is up, so a body that trickles is bounded too (set
 * a connect timeout on the connection manager's {@code ConnectionConfig}; Apache's default is 3
 * minutes). Its entity is read whole and the attempt's response closed before the engine decides
 * (the connection goes back to the pool at the body's end). When reading fails the connection is
 * discarded, never returned to the pool. The caller gets the upstream's own response (status line
 * and headers as received) with the bytes read as its entity (none when it had none: a HEAD, a 204,
 * a 304), or a stale copy (a HEAD's without entity). A request entity that can be sent only once (a
 * stream) is buffered as it would be written, so that retries, redirects and authentication
 * challenges can send it again; a repeatable one is sent as it is. Thread-safe.
 */
public final class ApacheExecHandler implements ExecChainHandler {
  /** The largest body an array can hold. */
  private static final long MAX_BODY = Integer.MAX_VALUE - 8;

  private final Upstream upstream;

  /** The last response type parsed, with its text: most upstreams answer with one or two types. */
  private volatile Parsed lastType;

  private record Parsed(String text, ContentType type) {}

  /** The last attempt config made, and what it was made from. */
  private volatile Timed lastConfig;

  private record Timed(RequestConfig original, long millis, RequestConfig config) {}

  public ApacheExecHandler(Upstream upstream) {
    this.upstream = java.util.Objects.requireNonNull(upstream, "upstream");
  }

  @Override
  public ClassicHttpResponse execute(
      ClassicHttpRequest request, ExecChain.Scope scope, ExecChain chain)
      throws IOException, HttpException {
    HttpEntity entity = request.getEntity();
    byte[] body = null;
    ExecChain.Scope attemptScope = scope;
    if (entity != null && !entity.isRepeatable()) {
      // A stream can be sent once: it is buffered as it would go on the wire (writeTo, which
      // compressing wrappers implement; their getContent() throws), keeping its type and encoding.
      // Redirects (307, 308) and authentication retries below rebuild the request from the
      // scope's original, so that gets the buffered entity too.
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      entity.writeTo(out);
      body = out.toByteArray();
      HttpEntity buffered =
          new ByteArrayEntity(
              body,
              ContentType.parseLenient(entity.getContentType()),
              entity.getContentEncoding(),
              entity.isChunked());
      request.setEntity(buffered);
      attemptScope =
          new ExecChain.Scope(
              scope.exchangeId,
              scope.route,
              ClassicRequestBuilder.copy(scope.originalRequest).setEntity(buffered).build(),
              scope.execRuntime,
              scope.clientContext);
    } // a repeatable entity (a string, a byte array, a file) is sent as it is, attempt after
    // attempt
    Header[] headers = request.getHeaders(); // a new array: the request as the caller made it
    ClientRequest neutral =
        ClientRequest.wrap(request.getMethod(), target(request, scope), view(headers), body);
    Exchange exchange = new Exchange(request, headers, attemptScope, chain);
    ClientResponse response;
    try {
      response = upstream.execute(neutral, exchange);
    } catch (Upstream.Cancelled c) { // the caller's cancel(): Apache's own exception
      throw c.asIoException();
    } finally {
      scope.clientContext.setRequestConfig(exchange.original);
    }
    if (response == exchange.answer) {
      // The upstream's own response, status line and headers as received: its entity was read
      // whole and closed (the connection went back to the pool at its end), and the caller gets
      // the bytes read.
      ClassicHttpResponse received = exchange.received;
      if (received.getEntity() != null) { // none for a HEAD, a 204 or a 304: as Apache gives it
        received.setEntity(
            new ByteArrayEntity(response.bodyUnsafe(), contentType(exchange.receivedType)));
      }
      return received;
    }
    // a stale copy
    BasicClassicHttpResponse out = new BasicClassicHttpResponse(response.status());
    response.headers().forEach((name, values) -> values.forEach(v -> out.addHeader(name, v)));
    if (!"HEAD".equals(neutral.method())) { // a HEAD gets no entity, as from Apache itself
      out.setEntity(
          new ByteArrayEntity(response.bodyUnsafe(), contentType(response.header("Content-Type"))));
    }
    return out;
  }

  /**
   * The request's scheme, host, port, path and query as Apache holds them (its {@code getUri()}
   * parses a URI, which is made only if something asks for it).
   */
  private static ClientRequest.Target target(ClassicHttpRequest request, ExecChain.Scope scope)
      throws HttpException {
    String path = request.getPath();
    if (path == null || path.isEmpty()) {
      path = "/";
    }
    if (!path.startsWith("/") && !"*".equals(path)) {
      // the absolute form: the whole address is in the request target
      try {
        URI absolute = new URI(path);
        if (absolute.isAbsolute() && absolute.getRawAuthority() != null) {
          return ClientRequest.Target.of(absolute);
        }
      } catch (URISyntaxException e) {
        // refused below
      }
      throw new HttpException("invalid request target: " + LogText.clean(path));
    }
    String scheme = request.getScheme();
    URIAuthority authority = request.getAuthority();
    if (authority != null) {
      return ClientRequest.Target.of(scheme, authority.getHostName(), authority.getPort(), path);
    }
    // a request without an authority (HttpClient 5.5 sets one from the target host before the
    // exec chain; older versions and direct callers may not): the route's target host
    HttpHost target = scope.route.getTargetHost();
    return ClientRequest.Target.of(
        scheme == null ? target.getSchemeName() : scheme,
        target.getHostName(),
        target.getPort(),
        path);
  }

  private ContentType contentType(String text) {
    if (text == null) {
      return null;
    }
    Parsed last = lastType;
    if (last != null && last.text.equals(text)) {
      return last.type;
    }
    ContentType parsed = ContentType.parseLenient(text);
    if (parsed != null) {
      lastType = new Parsed(text, parsed);
    }
    return parsed;
  }

  /** One call's attempts: the caller's request, sent once per attempt. Used by one thread. */
  private final class Exchange implements Transport {
    final ClassicHttpRequest request;
    final Header[] headers;
    final ExecChain.Scope scope;
    final ExecChain chain;
    final RequestConfig original;
    int attempts;

    /** The last attempt's response (read and closed), its content type and what the engine got. */
    ClassicHttpResponse received;

    String receivedType;
    ClientResponse answer;

    Exchange(ClassicHttpRequest request, Header[] headers, ExecChain.Scope scope, ExecChain chain) {
      this.request = request;
      this.headers = headers;
      this.scope = scope;
      this.chain = chain;
      this.original = scope.clientContext.getRequestConfigOrDefault();
    }

    @Override
    public ClientResponse send(ClientRequest neutral, Duration timeout) throws IOException {
      // Apache's protocol stage adds headers to the request it is given (Content-Length, Host, …)
      // and refuses one that already has them: a retry starts from the caller's headers again.
      if (attempts++ > 0) {
        request.setHeaders(headers);
      }
      return attempt(timeout);
    }

    /**
     * {@code e}, unless the caller cancelled the request or interrupted its thread (the watchdog
     * closes connections, it never interrupts): then {@link Upstream.Cancelled}.
     */
    private IOException cancelledOr(IOException e) {
      if (callerGaveUp()) {
        throw new Upstream.Cancelled(e);
      }
      return e;
    }

    /**
     * {@code unchecked}, unless the caller gave up: then {@code cancelled}, as Apache reports it.
     */
    private RuntimeException cancelledOr(IOException cancelled, RuntimeException unchecked) {
      if (callerGaveUp()) {
        throw new Upstream.Cancelled(cancelled);
      }
      return unchecked;
    }

    private boolean callerGaveUp() {
      return scope.execRuntime.isExecutionAborted() || Thread.currentThread().isInterrupted();
    }

    /** One attempt: the request through the rest of Apache's chain, its body read whole. */
    private ClientResponse attempt(Duration timeout) throws IOException {
      scope.clientContext.setRequestConfig(timed(original, Math.max(1, timeout.toMillis())));
      // The response timeout applies per read; the watchdog bounds the whole attempt (a body that
      // trickles included) by closing the attempt's connection when its time is up.
      AttemptWatchdog watchdog =
          AttemptWatchdog.aborting(timeout, scope.execRuntime::discardEndpoint);
      try {
        ClassicHttpResponse response;
        try {
          response = chain.proceed(request, scope);
        } catch (org.apache.hc.core5.http.ProtocolException e) {
          throw new TransportException(FailureCause.INVALID_RESPONSE, "malformed response", e);
        } catch (HttpException e) {
          throw new TransportException(FailureCause.INVALID_RESPONSE, "HTTP protocol error", e);
        } catch (org.apache.hc.core5.http.ConnectionRequestTimeoutException e) {
          watchdog.disarm();
          throw TransportException.timedOut(
              "no pooled connection", timeout, e); // a ConnectException, but not one
        } catch (IOException e) {
          if (watchdog.disarm()) {
            throw TransportException.timedOut("response not received", timeout, e);
          }
          IOException failure = cancelledOr(e);
          if (failure instanceof org.apache.hc.core5.http.MessageConstraintException) {
            // more garbage lines than its lenient parser skips, or a head beyond its limits
            throw new TransportException(
                FailureCause.INVALID_RESPONSE, "response head refused", failure);
          }
          if (failure instanceof org.apache.hc.core5.http.NoHttpResponseException
              && receivedNoResponseHead(scope)) {
            throw new TransportException(
                FailureCause.INVALID_RESPONSE, "the upstream sent no HTTP response", failure);
          }
          throw failure;
        } catch (RuntimeException e) {
          // closing the connection between its lease and the request's first byte makes Apache
          // throw IllegalStateException ("endpoint not acquired"): that, too, is the timeout
          if (watchdog.disarm()) {
            throw TransportException.timedOut("response not received", timeout, e);
          }
          // a cancel while waiting for the pool, or just after the lease, ends that way too
          throw cancelledOr(
              new org.apache.hc.client5.http.impl.classic.RequestFailedException(
                  "Request aborted", e),
              e);
        }
        try (response) {
          HttpEntity entity = response.getEntity();
          byte[] bytes;
          try {
            bytes = readWhole(entity);
          } catch (IOException e) {
            scope.execRuntime.discardEndpoint();
            boolean outOfTime = watchdog.disarm();
            if (!outOfTime) {
              cancelledOr(e);
            }
            throw TransportException.bodyFailed(e, outOfTime, timeout);
          }
          ClientResponse neutral =
              ClientResponse.wrap(response.getCode(), view(response.getHeaders()), bytes);
          if (sentOwnCredentials(request, scope)) {
            neutral = neutral.asPersonal();
          }
          received = response;
          Header typeHeader =
              response.getFirstHeader("Content-Type"); // a HEAD's too, without entity
          receivedType = typeHeader == null ? null : typeHeader.getValue();
          answer = neutral;
          return neutral;
        }
      } finally {
        watchdog.disarm();
      }
    }
  }

  /**
   * Whether the attempt's connection, new for this request, received bytes but no response head
   * before it closed. Apache's lenient parser skips lines that are not a status line, so to Apache
   * garbage then close is "no response", as an empty reply is; the connection's counters tell the
   * two apart. On a reused connection "no response" is the usual keep-alive race: a connection
   * failure.
   */
  private static boolean receivedNoResponseHead(ExecChain.Scope scope) {
    org.apache.hc.core5.http.EndpointDetails connection = scope.clientContext.getEndpointDetails();
    return connection != null
        && connection.getRequestCount() == 1
        && connection.getResponseCount() == 0
        && connection.getReceivedBytesCount() > 0;
  }

  /**
   * Whether the client sent cookies or credentials of its own: its protocol stage adds them (from
   * the cookie store, the credentials provider) to the request below this handler, so the response
   * may be one user's. The request shows what was added, unless Apache sent copies of it (behind a
   * plain HTTP proxy, or for each hop of a redirect it followed): then the last copy sent counts,
   * and any cookie in the store, which earlier hops may have carried. The authentication state
   * covers credentials in every case.
   */
  private static boolean sentOwnCredentials(ClassicHttpRequest sent, ExecChain.Scope scope) {
    if (sent.containsHeader("Cookie") || sent.containsHeader("Authorization")) {
      return true; // a caller's own are refused by the request rules anyway
    }
    org.apache.hc.core5.http.HttpRequest last = scope.clientContext.getRequest();
    if (last != null && last != sent) { // a copy went out
      if (last.containsHeader("Cookie") || last.containsHeader("Authorization")) {
        return true;
      }
      org.apache.hc.client5.http.cookie.CookieStore cookies = scope.clientContext.getCookieStore();
      if (cookies != null && !cookies.getCookies().isEmpty()) {
        return true;
      }
    }
    java.util.Map<HttpHost, org.apache.hc.client5.http.auth.AuthExchange> exchanges =
        scope.clientContext.getAuthExchanges();
    if (exchanges.isEmpty()) {
      return false; // no authentication so far: the usual case, without an iterator
    }
    for (org.apache.hc.client5.http.auth.AuthExchange exchange : exchanges.values()) {
      if (exchange.getAuthScheme() != null) {
        return true;
      }
    }
    return false;
  }

  /**
   * The client's request config with the attempt's time as its response and connection-request
   * timeouts (the client's own where they are shorter). The last one made is reused: an attempt's
   * time is usually the policy's whole attempt timeout, and the original config the client's
   * default.
   */
  private RequestConfig timed(RequestConfig original, long millis) {
    Timed last = lastConfig;
    if (last != null && last.original == original && last.millis == millis) {
      return last.config;
    }
    Timeout t = Timeout.ofMilliseconds(millis);
    RequestConfig config =
        RequestConfig.copy(original)
            .setResponseTimeout(shorter(original.getResponseTimeout(), t))
            .setConnectionRequestTimeout(shorter(original.getConnectionRequestTimeout(), t))
            .build();
    lastConfig = new Timed(original, millis, config);
    return config;
  }

  /** The client's own timeout when it is set and shorter than the attempt's, else the attempt's. */
  private static Timeout shorter(Timeout own, Timeout attempt) {
    return own != null && own.toMilliseconds() > 0 && own.compareTo(attempt) < 0 ? own : attempt;
  }

  /**
   * The entity's bytes. Apache's length-delimited stream fails on a premature end; a body that
   * still comes up short of its declared length is an error here too.
   */
  private static byte[] readWhole(HttpEntity entity) throws IOException {
    if (entity == null) {
      return new byte[0];
    }
    long length = entity.getContentLength();
    try (java.io.InputStream in = entity.getContent()) {
      if (in == null) {
        return new byte[0];
      }
      if (length > MAX_BODY) {
        throw new IOException("a body of " + length + " bytes is too large to read whole");
      }
      byte[] bytes = BodyReader.readAll(in, length);
      if (bytes.length < length) {
        throw new org.apache.hc.core5.http.ConnectionClosedException(
            "body ended after %d of %d bytes", bytes.length, length);
      }
      return bytes;
    }
  }

  /** Apache's header lines (a snapshot: {@code getHeaders()} returns a new array) as a map. */
  private static HeaderView view(Header[] lines) {
    return HeaderView.over(
        lines,
        (all, name) -> {
          HeaderView.Found found = new HeaderView.Found();
          for (Header h : all) {
            if (h.getValue() != null && name.equalsIgnoreCase(h.getName())) {
              found.add(h.getValue());
            }
          }
          return found.values();
        },
        (all, line) -> {
          for (Header h : all) {
            line.accept(h.getName(), h.getValue());
          }
        });
  }
}
