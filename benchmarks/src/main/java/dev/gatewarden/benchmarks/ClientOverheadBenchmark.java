package dev.gatewarden.benchmarks;

import dev.gatewarden.resilience.ApacheExecHandler;
import dev.gatewarden.resilience.OkHttpInterceptor;
import dev.gatewarden.resilience.ResilientHttpClient;
import dev.gatewarden.resilience.SpringClientInterceptor;
import dev.gatewarden.resilience.Upstream;
import dev.gatewarden.resilience.UpstreamPolicy;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.web.client.RestClient;

/**
 * What a decorated call costs over the raw client, for each of the four adapters: a 1 KB GET on
 * loopback to the same keep-alive upstream, raw and decorated side by side in one run. Each client
 * pair differs only by Gatewarden's adapter (default policy). Run with {@code -prof gc} for
 * allocations per call.
 *
 * <p>The upstream is a minimal socket server by default (a raw call is then as fast as loopback
 * allows, which makes any added cost look largest); {@code -Doverhead.upstream=jetty} serves the
 * same response from a servlet in Jetty 12, as a typical Java upstream would.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 10, time = 2) // 20 s: the heavier stacks (Spring) are still compiling after 6
@Measurement(iterations = 6, time = 2)
@Fork(2)
public class ClientOverheadBenchmark {
  private AutoCloseable upstream;
  private URI uri;

  private HttpRequest jdkRequest;
  private HttpClient jdkRaw;
  private HttpClient jdkDecorated;
  private OkHttpClient okRaw;
  private OkHttpClient okDecorated;
  private OkHttpClient okBuffering;
  private CloseableHttpClient apacheRaw;
  private CloseableHttpClient apacheDecorated;
  private CloseableHttpClient apacheRawTimed;
  private CloseableHttpClient apacheBuffering;
  private RestClient springRaw;
  private RestClient springNoopInterceptor;
  private RestClient springDecorated;
  private Upstream engineOnly;
  private dev.gatewarden.resilience.ClientRequest cannedRequest;
  private dev.gatewarden.resilience.ClientResponse cannedResponse;

  @Setup(Level.Trial)
  public void start() throws Exception {
    String kind = System.getProperty("overhead.upstream", "socket");
    switch (kind) {
      case "socket" -> {
        FaultAbsorption.FaultyServer socket = new FaultAbsorption.FaultyServer(0, 0, 1);
        upstream = socket;
        uri = socket.uri("/item/1");
      }
      case "jetty" -> {
        JettyUpstream jetty = new JettyUpstream();
        upstream = jetty;
        uri = jetty.uri("/item/1");
      }
      default ->
          throw new IllegalArgumentException(
              "overhead.upstream=" + kind + ": expected socket or jetty");
    }
    jdkRequest = HttpRequest.newBuilder(uri).build();

    jdkRaw = HttpClient.newHttpClient();
    jdkDecorated = ResilientHttpClient.wrap(HttpClient.newHttpClient(), upstream("jdk"));

    okRaw = new OkHttpClient.Builder().build();
    okDecorated =
        new OkHttpClient.Builder().addInterceptor(new OkHttpInterceptor(upstream("ok"))).build();
    // an interceptor that only reads each body whole and hands back a copy: buffering by itself
    okBuffering =
        new OkHttpClient.Builder()
            .addInterceptor(
                chain -> {
                  okhttp3.Response received = chain.proceed(chain.request());
                  try (okhttp3.ResponseBody body = received.body()) {
                    return received
                        .newBuilder()
                        .body(okhttp3.ResponseBody.create(body.bytes(), body.contentType()))
                        .build();
                  }
                })
            .build();

    apacheRaw = HttpClients.custom().disableAutomaticRetries().build();
    // Apache reads with blocking calls until a response timeout is set; then each read is a
    // non-blocking try and a poll (more system calls). The adapter always sets one (the attempt's
    // time), as most production clients do: this raw client has the same 2 s, for a comparison of
    // like with like
    apacheRawTimed =
        HttpClients.custom()
            .setDefaultRequestConfig(
                org.apache.hc.client5.http.config.RequestConfig.custom()
                    .setResponseTimeout(org.apache.hc.core5.util.Timeout.ofSeconds(2))
                    .build())
            .disableAutomaticRetries()
            .build();
    // Apache's exec chain with a handler that only reads each body whole and hands back a copy,
    // as any adapter must that checks a body before the caller sees it: what buffering costs by
    // itself, without the engine's policies
    apacheBuffering =
        HttpClients.custom()
            .addExecInterceptorFirst("buffer", ClientOverheadBenchmark::buffered)
            .disableAutomaticRetries()
            .build();
    apacheDecorated =
        HttpClients.custom()
            .addExecInterceptorFirst("gatewarden", new ApacheExecHandler(upstream("apache")))
            .disableAutomaticRetries()
            .build();

    engineOnly = upstream("engine");
    cannedRequest = dev.gatewarden.resilience.ClientRequest.get(uri);
    cannedResponse =
        dev.gatewarden.resilience.ClientResponse.of(
            200,
            java.util.Map.of(
                "Content-Type", java.util.List.of("text/plain"),
                "Cache-Control", java.util.List.of("max-age=0, stale-if-error=600")),
            new byte[1024]);

    springRaw = RestClient.builder().requestFactory(new JdkClientHttpRequestFactory()).build();
    // Spring's interceptor chain itself (it buffers the request, wraps the response): the baseline
    // that the Gatewarden interceptor should be compared with as well
    springNoopInterceptor =
        RestClient.builder()
            .requestFactory(new JdkClientHttpRequestFactory())
            .requestInterceptor((request, body, execution) -> execution.execute(request, body))
            .build();
    springDecorated =
        RestClient.builder()
            .requestFactory(new JdkClientHttpRequestFactory())
            .requestInterceptor(new SpringClientInterceptor(upstream("spring")))
            .build();
  }

  private static Upstream upstream(String name) {
    UpstreamPolicy.Builder policy = UpstreamPolicy.builder(name);
    if (!Boolean.parseBoolean(System.getProperty("overhead.stale", "true"))) {
      // what keeping a stale copy of every good response costs, by leaving it out
      policy.stale(dev.gatewarden.cache.CachePolicy.builder().enabled(false).build());
    }
    return Upstream.builder(policy.build()).meterRegistry(new SimpleMeterRegistry()).build();
  }

  @TearDown(Level.Trial)
  public void stop() throws Exception {
    apacheRaw.close();
    apacheRawTimed.close();
    apacheBuffering.close();
    apacheDecorated.close();
    upstream.close();
  }

  /**
   * The engine alone, every policy on, around a transport that answers at once with a canned 1 KB
   * response: its own bookkeeping per call, without any client or socket.
   */
  @Benchmark
  public int engineOnly() throws Exception {
    return engineOnly.execute(cannedRequest, (r, timeout) -> cannedResponse).bodyLength();
  }

  @Benchmark
  public int jdkRaw() throws Exception {
    return jdkRaw.send(jdkRequest, HttpResponse.BodyHandlers.ofByteArray()).body().length;
  }

  @Benchmark
  public int jdkDecorated() throws Exception {
    return jdkDecorated.send(jdkRequest, HttpResponse.BodyHandlers.ofByteArray()).body().length;
  }

  @Benchmark
  public int okhttpRaw() throws Exception {
    return ok(okRaw);
  }

  @Benchmark
  public int okhttpBuffering() throws Exception {
    return ok(okBuffering);
  }

  @Benchmark
  public int okhttpDecorated() throws Exception {
    return ok(okDecorated);
  }

  @Benchmark
  public int apacheRaw() throws Exception {
    return apache(apacheRaw);
  }

  @Benchmark
  public int apacheRawWithResponseTimeout() throws Exception {
    return apache(apacheRawTimed);
  }

  @Benchmark
  public int apacheBuffering() throws Exception {
    return apache(apacheBuffering);
  }

  @Benchmark
  public int apacheDecorated() throws Exception {
    return apache(apacheDecorated);
  }

  @Benchmark
  public int springRaw() {
    return spring(springRaw);
  }

  @Benchmark
  public int springNoopInterceptor() {
    return spring(springNoopInterceptor);
  }

  @Benchmark
  public int springDecorated() {
    return spring(springDecorated);
  }

  private int ok(OkHttpClient client) throws Exception {
    try (okhttp3.Response r =
        client.newCall(new okhttp3.Request.Builder().url(uri.toString()).build()).execute()) {
      return r.body().bytes().length;
    }
  }

  private int apache(CloseableHttpClient client) throws Exception {
    return client.execute(new HttpGet(uri), r -> EntityUtils.toByteArray(r.getEntity()).length);
  }

  /**
   * Reads the body whole as cheaply as Apache allows (one array of the declared length, no content
   * type parsed) and hands back a copy of the response: buffering by itself, the floor for any
   * adapter that checks a body before the caller sees it.
   */
  private static org.apache.hc.core5.http.ClassicHttpResponse buffered(
      org.apache.hc.core5.http.ClassicHttpRequest request,
      org.apache.hc.client5.http.classic.ExecChain.Scope scope,
      org.apache.hc.client5.http.classic.ExecChain chain)
      throws java.io.IOException, org.apache.hc.core5.http.HttpException {
    try (org.apache.hc.core5.http.ClassicHttpResponse received = chain.proceed(request, scope)) {
      org.apache.hc.core5.http.HttpEntity entity = received.getEntity();
      org.apache.hc.core5.http.message.BasicClassicHttpResponse copy =
          new org.apache.hc.core5.http.message.BasicClassicHttpResponse(received.getCode());
      copy.setHeaders(received.getHeaders());
      if (entity != null) {
        byte[] body;
        try (java.io.InputStream in = entity.getContent()) {
          long length = entity.getContentLength();
          if (length >= 0 && length <= 64 * 1024) {
            body = new byte[(int) length];
            in.readNBytes(body, 0, body.length);
            in.read(); // the end of the body, which releases the connection
          } else {
            body = in.readAllBytes();
          }
        }
        copy.setEntity(new org.apache.hc.core5.http.io.entity.ByteArrayEntity(body, null));
      }
      return copy;
    }
  }

  private int spring(RestClient client) {
    return client.get().uri(uri).retrieve().body(byte[].class).length;
  }

  /** The same 1 KB response as the socket upstream's, from a servlet in Jetty 12. */
  static final class JettyUpstream implements AutoCloseable {
    private final org.eclipse.jetty.server.Server server = new org.eclipse.jetty.server.Server();
    private final org.eclipse.jetty.server.ServerConnector connector =
        new org.eclipse.jetty.server.ServerConnector(server);

    JettyUpstream() throws Exception {
      byte[] body = "x".repeat(1024).getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
      connector.setHost("127.0.0.1");
      connector.setPort(0);
      server.addConnector(connector);
      org.eclipse.jetty.ee10.servlet.ServletContextHandler context =
          new org.eclipse.jetty.ee10.servlet.ServletContextHandler();
      context.addServlet(
          new org.eclipse.jetty.ee10.servlet.ServletHolder(
              new jakarta.servlet.http.HttpServlet() {
                @Override
                protected void doGet(
                    jakarta.servlet.http.HttpServletRequest req,
                    jakarta.servlet.http.HttpServletResponse resp)
                    throws java.io.IOException {
                  resp.setContentType("text/plain");
                  resp.setHeader("Cache-Control", "max-age=0, stale-if-error=600");
                  resp.setContentLength(body.length);
                  resp.getOutputStream().write(body);
                }
              }),
          "/*");
      server.setHandler(context);
      server.start();
    }

    URI uri(String path) {
      return URI.create("http://127.0.0.1:" + connector.getLocalPort() + path);
    }

    @Override
    public void close() throws java.io.IOException {
      try {
        server.stop();
      } catch (java.io.IOException e) {
        throw e;
      } catch (Exception e) {
        throw new java.io.IOException("Jetty did not stop", e);
      }
    }
  }
}
