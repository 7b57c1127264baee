package dev.gatewarden.filter;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import jakarta.servlet.AsyncContext;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Streaming and async responses over real HTTP on both containers. */
class StreamingAndAsyncSmokeTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final FakeTicker ticker = new FakeTicker();

  private Container.Running start(Container container, String mapping, Servlets.Handler handler)
      throws Exception {
    GatewardenConfig config =
        GatewardenConfig.builder().ticker(ticker).meterRegistry(registry).build();
    return container.start(
        new Container.Deployment()
            .filter(new GatewardenFilter(config))
            .servlet(mapping, Servlets.of(handler)));
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void serverSentEventReachesTheClientBeforeTheAppFinishes(Container container) throws Exception {
    CountDownLatch firstEventRead = new CountDownLatch(1);
    AtomicBoolean appWaited = new AtomicBoolean();
    try (Container.Running server =
        start(
            container,
            "/events",
            (req, resp) -> {
              resp.setContentType("text/event-stream");
              resp.getWriter().write("data: first\n\n");
              resp.getWriter().flush();
              appWaited.set(firstEventRead.await(10, TimeUnit.SECONDS));
              resp.getWriter().write("data: second\n\n");
            })) {
      HttpResponse<InputStream> r =
          Http.client()
              .send(
                  HttpRequest.newBuilder(server.uri("/events")).build(),
                  HttpResponse.BodyHandlers.ofInputStream());
      try (BufferedReader in =
          new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
        assertThat(in.readLine()).isEqualTo("data: first");
        firstEventRead.countDown();
        assertThat(in.readLine()).isEmpty();
        assertThat(in.readLine()).isEqualTo("data: second");
      }
      assertThat(appWaited).isTrue();
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void bodyLargerThanTheBufferIsStreamedWholeAndNotStored(Container container) throws Exception {
    byte[] big = new byte[5 << 20];
    for (int i = 0; i < big.length; i++) {
      big[i] = (byte) ('a' + i % 26);
    }
    AtomicBoolean fail = new AtomicBoolean();
    try (Container.Running server =
        start(
            container,
            "/big",
            (req, resp) -> {
              if (fail.get()) {
                throw new IllegalStateException("down");
              }
              resp.setContentType("application/octet-stream");
              for (int off = 0; off < big.length; off += 64 * 1024) {
                resp.getOutputStream().write(big, off, 64 * 1024);
              }
            })) {
      HttpResponse<byte[]> r = Http.getBytes(server.uri("/big"));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(Arrays.equals(r.body(), big)).isTrue();
      fail.set(true);
      HttpResponse<String> after = Http.get(server.uri("/big"));
      assertThat(after.statusCode()).as("no stale copy of a streamed body").isEqualTo(500);
      assertThat(registry.find("gatewarden.server.requests").tags("outcome", "streamed").timers())
          .hasSize(1);
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void streamedResponseThatFailsIsAbortedNotEndedAsComplete(Container container) throws Exception {
    try (Container.Running server =
        start(
            container,
            "/broken",
            (req, resp) -> {
              byte[] chunk = new byte[64 * 1024];
              Arrays.fill(chunk, (byte) 'x');
              for (int i = 0; i < 24; i++) { // 1.5 MiB: past the 1 MiB buffer
                resp.getOutputStream().write(chunk);
              }
              throw new IllegalStateException("failed half way");
            })) {
      String raw =
          Http.raw(server.port(), "GET /broken HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      assertThat(raw).startsWith("HTTP/1.1 200");
      assertThat(raw).as("no terminating chunk").doesNotEndWith("0\r\n\r\n");
      assertThat(registry.find("gatewarden.server.requests").tags("outcome", "aborted").timers())
          .hasSize(1);
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void asyncServletResponseIsCapturedAndStored(Container container) throws Exception {
    AtomicBoolean fail = new AtomicBoolean();
    try (Container.Running server =
        start(
            container,
            "/async",
            (req, resp) -> {
              AsyncContext ctx = req.startAsync();
              assertThat(req.getAsyncContext()).isSameAs(ctx);
              ctx.start(
                  () -> {
                    try {
                      if (fail.get()) {
                        ((jakarta.servlet.http.HttpServletResponse) ctx.getResponse())
                            .setStatus(503);
                        ctx.getResponse().getWriter().write("half");
                      } else {
                        ctx.getResponse().setContentType("text/plain");
                        ctx.getResponse().getWriter().write("async page");
                      }
                    } catch (java.io.IOException e) {
                      throw new java.io.UncheckedIOException(e);
                    } finally {
                      ctx.complete();
                    }
                  });
            })) {
      HttpResponse<String> ok = Http.get(server.uri("/async"));
      assertThat(ok.statusCode()).isEqualTo(200);
      assertThat(ok.body()).isEqualTo("async page");
      fail.set(true);
      HttpResponse<String> stale = Http.get(server.uri("/async"));
      assertThat(stale.statusCode()).isEqualTo(200);
      assertThat(stale.body()).isEqualTo("async page");
      assertThat(stale.headers().firstValue("Cache-Status").orElseThrow())
          .contains("fwd-status=503");
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void asyncTimeoutIsAnswered504(Container container) throws Exception {
    try (Container.Running server =
        start(
            container,
            "/slow",
            (req, resp) -> {
              AsyncContext ctx = req.startAsync();
              ctx.setTimeout(200);
            })) {
      HttpResponse<String> r = Http.get(server.uri("/slow"), "Accept", "text/plain");
      assertThat(r.statusCode()).isEqualTo(504);
      assertThat(r.body()).contains("took too long");
    }
  }
}
