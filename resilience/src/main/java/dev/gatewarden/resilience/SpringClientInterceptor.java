package dev.gatewarden.resilience;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
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
 * response closed before the engine decides. Spring gives an interceptor no per-call timeout, so
 * the attempt timeout must be set on the request factory (connect and read timeouts); the engine
 * still enforces the total timeout and the current {@link Deadline} between attempts. Thread-safe.
 */
public final class SpringClientInterceptor implements ClientHttpRequestInterceptor {
  private final Upstream upstream;

  public SpringClientInterceptor(Upstream upstream) {
    this.upstream = java.util.Objects.requireNonNull(upstream, "upstream");
  }

  @Override
  public ClientHttpResponse intercept(
      HttpRequest request, byte[] body, ClientHttpRequestExecution execution) throws IOException {
    ClientRequest neutral =
        ClientRequest.of(request.getMethod().name(), request.getURI(), request.getHeaders(), body);
    ClientResponse response =
        upstream.execute(neutral, (r, timeout) -> attempt(request, body, execution, timeout));
    return new Buffered(response);
  }

  private static ClientResponse attempt(
      HttpRequest request, byte[] body, ClientHttpRequestExecution execution, Duration timeout)
      throws IOException {
    try (ClientHttpResponse response = execution.execute(request, body)) {
      int status = response.getStatusCode().value();
      HttpHeaders headers = response.getHeaders();
      byte[] bytes;
      try (InputStream in = response.getBody()) {
        bytes = in.readAllBytes();
      } catch (java.net.SocketTimeoutException e) {
        throw e;
      } catch (IOException e) {
        throw new TransportException(
            FailureCause.INVALID_RESPONSE, "body cut short after the headers", e);
      }
      return ClientResponse.of(status, headers, bytes);
    }
  }

  /** The engine's buffered response, as Spring's. */
  private static final class Buffered implements ClientHttpResponse {
    private final ClientResponse response;
    private final HttpHeaders headers = new HttpHeaders();

    Buffered(ClientResponse response) {
      this.response = response;
      response.headers().forEach(headers::addAll);
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
