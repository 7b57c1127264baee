package dev.gatewarden.filter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatewarden.resilience.ApacheExecHandler;
import dev.gatewarden.resilience.OkHttpInterceptor;
import dev.gatewarden.resilience.ResilientHttpClient;
import dev.gatewarden.resilience.SpringClientInterceptor;
import dev.gatewarden.resilience.Upstream;
import dev.gatewarden.resilience.UpstreamException;
import dev.gatewarden.resilience.UpstreamPolicy;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A call the app makes through Gatewarden's client, inside a request the filter handles, is capped
 * by the route's outbound deadline — not by the upstream policy's longer timeouts — whichever of
 * the four adapters makes it, in Jetty and in Tomcat.
 */
class OutboundDeadlineTest {

  /** One adapter, adopted as clients.md shows: a GET that ends in an answer or an exception. */
  enum Adapter {
    JDK {
      @Override
      Call client(Upstream upstream) {
        HttpClient c = ResilientHttpClient.wrap(HttpClient.newHttpClient(), upstream);
        return uri ->
            c.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
      }
    },
    APACHE {
      @Override
      Call client(Upstream upstream) {
        org.apache.hc.client5.http.impl.classic.CloseableHttpClient c =
            org.apache.hc.client5.http.impl.classic.HttpClients.custom()
                .addExecInterceptorFirst("gatewarden", new ApacheExecHandler(upstream))
                .disableAutomaticRetries()
                .build();
        return uri ->
            c.execute(
                new org.apache.hc.client5.http.classic.methods.HttpGet(uri),
                r -> org.apache.hc.core5.http.io.entity.EntityUtils.toString(r.getEntity()));
      }
    },
    OKHTTP {
      @Override
      Call client(Upstream upstream) {
        okhttp3.OkHttpClient c =
            new okhttp3.OkHttpClient.Builder()
                .addInterceptor(new OkHttpInterceptor(upstream))
                .retryOnConnectionFailure(false)
                .build();
        return uri -> {
          try (okhttp3.Response r =
              c.newCall(new okhttp3.Request.Builder().url(uri.toString()).build()).execute()) {
            return r.body().string();
          }
        };
      }
    },
    SPRING {
      @Override
      Call client(Upstream upstream) {
        org.springframework.web.client.RestClient c =
            org.springframework.web.client.RestClient.builder()
                .requestFactory(new org.springframework.http.client.JdkClientHttpRequestFactory())
                .requestInterceptor(new SpringClientInterceptor(upstream))
                .build();
        return uri -> {
          try {
            return c.get().uri(uri).retrieve().body(String.class);
          } catch (org.springframework.web.client.ResourceAccessException e) {
            throw e.getCause() instanceof UpstreamException u ? u : e; // Spring wraps I/O errors
          }
        };
      }
    };

    abstract Call client(Upstream upstream);
  }

  interface Call {
    Object get(URI uri) throws Exception;
  }

  static Stream<Arguments> everyAdapterInEveryContainer() {
    return Stream.of(Container.values())
        .flatMap(c -> Stream.of(Adapter.values()).map(a -> Arguments.of(c, a)));
  }

  @ParameterizedTest(name = "{1} in {0}")
  @MethodSource("everyAdapterInEveryContainer")
  void routeDeadlineCapsACallMadeWhileHandlingTheRequest(Container container, Adapter adapter)
      throws Exception {
    List<Socket> held = java.util.Collections.synchronizedList(new ArrayList<>());
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread acceptor =
          new Thread(
              () -> {
                try {
                  while (true) {
                    held.add(silent.accept()); // accepts, never answers
                  }
                } catch (java.io.IOException closed) {
                  // test over
                }
              });
      acceptor.setDaemon(true);
      acceptor.start();
      Upstream inventory =
          Upstream.builder(
                  UpstreamPolicy.builder("inventory")
                      .attemptTimeout(Duration.ofSeconds(8))
                      .totalTimeout(Duration.ofSeconds(10))
                      .build())
              .meterRegistry(new SimpleMeterRegistry())
              .build();
      Call client = adapter.client(inventory);
      URI item = URI.create("http://127.0.0.1:" + silent.getLocalPort() + "/item");
      GatewardenConfig config =
          GatewardenConfig.builder()
              .meterRegistry(new SimpleMeterRegistry())
              .route(
                  Route.builder("shop")
                      .patterns("/shop/*")
                      .outboundDeadline(Duration.ofMillis(400))
                      .build())
              .build();
      try (Container.Running server =
          container.start(
              new Container.Deployment()
                  .filter(new GatewardenFilter(config))
                  .servlet(
                      "/shop/*",
                      Servlets.of(
                          (req, resp) -> {
                            long start = System.nanoTime();
                            String outcome;
                            try {
                              client.get(item);
                              outcome = "answered";
                            } catch (UpstreamException e) {
                              outcome = e.failureCause().tag();
                            } catch (Exception e) {
                              outcome = e.toString();
                            }
                            long millis = Duration.ofNanos(System.nanoTime() - start).toMillis();
                            resp.getWriter()
                                .write(outcome + " " + (millis < 3000 ? "fast" : "slow:" + millis));
                          })))) {
        assertThat(Http.get(server.uri("/shop/page")).body()).isEqualTo("timeout fast");
      }
    } finally {
      for (Socket s : held) {
        s.close();
      }
    }
  }
}
