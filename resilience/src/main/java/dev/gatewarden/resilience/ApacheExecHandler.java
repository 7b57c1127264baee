package dev.gatewarden.resilience;

import java.io.IOException;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hc.client5.http.classic.ExecChain;
import org.apache.hc.client5.http.classic.ExecChainHandler;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.core5.http.ClassicHttpRequest;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.HttpException;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.http.message.BasicClassicHttpResponse;
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
 * minutes). Its entity is read whole and the attempt's response closed before the engine decides.
 * When reading fails the connection is discarded, never returned to the pool. Request entities are
 * buffered once so that retries can replay them. Thread-safe.
 */
public final class ApacheExecHandler implements ExecChainHandler {
  /** The largest body an array can hold. */
  private static final long MAX_BODY = Integer.MAX_VALUE - 8;

  private final Upstream upstream;

  public ApacheExecHandler(Upstream upstream) {
    this.upstream = java.util.Objects.requireNonNull(upstream, "upstream");
  }

  @Override
  public ClassicHttpResponse execute(
      ClassicHttpRequest request, ExecChain.Scope scope, ExecChain chain)
      throws IOException, HttpException {
    HttpEntity entity = request.getEntity();
    byte[] body = entity == null ? null : EntityUtils.toByteArray(entity);
    ContentType type = entity == null ? null : ContentType.parseLenient(entity.getContentType());
    Map<String, List<String>> headers = headerMap(request.getHeaders());
    ClientRequest neutral;
    try {
      neutral = ClientRequest.of(request.getMethod(), request.getUri(), headers, body);
    } catch (URISyntaxException e) {
      throw new HttpException("invalid request URI", e);
    }
    RequestConfig original = scope.clientContext.getRequestConfigOrDefault();
    ClientResponse response;
    try {
      response =
          upstream.execute(
              neutral,
              (r, timeout) -> attempt(request, body, type, scope, chain, original, timeout));
    } finally {
      scope.clientContext.setRequestConfig(original);
    }
    BasicClassicHttpResponse out = new BasicClassicHttpResponse(response.status());
    response.headers().forEach((name, values) -> values.forEach(v -> out.addHeader(name, v)));
    String contentType = response.header("Content-Type");
    out.setEntity(
        new ByteArrayEntity(
            response.bodyUnsafe(),
            contentType == null ? null : ContentType.parseLenient(contentType)));
    return out;
  }

  private static ClientResponse attempt(
      ClassicHttpRequest request,
      byte[] body,
      ContentType type,
      ExecChain.Scope scope,
      ExecChain chain,
      RequestConfig original,
      Duration timeout)
      throws IOException {
    Timeout attemptTimeout = Timeout.ofMilliseconds(Math.max(1, timeout.toMillis()));
    scope.clientContext.setRequestConfig(
        RequestConfig.copy(original)
            .setResponseTimeout(attemptTimeout)
            .setConnectionRequestTimeout(attemptTimeout)
            .build());
    if (body != null) {
      request.setEntity(new ByteArrayEntity(body, type));
    }
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
        throw watchdog.disarm()
            ? TransportException.timedOut("response not received", timeout, e)
            : e;
      } catch (RuntimeException e) {
        // closing the connection between its lease and the request's first byte makes Apache
        // throw IllegalStateException ("endpoint not acquired"): that, too, is the timeout
        if (watchdog.disarm()) {
          throw TransportException.timedOut("response not received", timeout, e);
        }
        throw e;
      }
      try (response) {
        byte[] bytes;
        try {
          bytes = readWhole(response.getEntity());
        } catch (IOException e) {
          scope.execRuntime.discardEndpoint();
          throw TransportException.bodyFailed(e, watchdog.disarm(), timeout);
        }
        return ClientResponse.of(response.getCode(), headerMap(response.getHeaders()), bytes);
      }
    } finally {
      watchdog.disarm();
    }
  }

  /**
   * The entity's bytes, read into one array of its declared length when it has one (Apache's
   * length-delimited stream fails on a premature end, so a short body is an exception here).
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
      if (length < 0) {
        return in.readAllBytes();
      }
      byte[] bytes = in.readNBytes((int) length);
      if (bytes.length < length) {
        throw new org.apache.hc.core5.http.ConnectionClosedException(
            "body ended after %d of %d bytes", bytes.length, length);
      }
      int next = in.read();
      if (next < 0) {
        return bytes; // the usual case: the declared length was the whole body
      }
      // an entity whose content differs from its declared length (a wrapper that decodes it, for
      // one): read the rest rather than cut it short
      java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream(bytes.length * 2);
      all.write(bytes);
      all.write(next);
      in.transferTo(all);
      return all.toByteArray();
    }
  }

  private static Map<String, List<String>> headerMap(Header[] headers) {
    Map<String, List<String>> map = new LinkedHashMap<>();
    for (Header h : headers) {
      map.computeIfAbsent(h.getName(), k -> new java.util.ArrayList<>()).add(h.getValue());
    }
    return map;
  }
}
