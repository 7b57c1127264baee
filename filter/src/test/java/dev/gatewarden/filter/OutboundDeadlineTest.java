package dev.gatewarden.filter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gatewarden.resilience.ResilientHttpClient;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A call the app makes through Gatewarden's client, inside a request the filter handles, is capped
 * by the route's outbound deadline — not by the upstream policy's longer timeouts.
 */
class OutboundDeadlineTest {

  @ParameterizedTest
  @EnumSource(Container.class)
  void routeDeadlineCapsACallMadeWhileHandlingTheRequest(Container container) throws Exception {
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
      HttpClient client = ResilientHttpClient.wrap(HttpClient.newHttpClient(), inventory);
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
                              client.send(
                                  HttpRequest.newBuilder(item).build(),
                                  HttpResponse.BodyHandlers.ofString());
                              outcome = "answered";
                            } catch (UpstreamException e) {
                              outcome = e.failureCause().tag();
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
