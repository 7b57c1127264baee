package dev.gatewarden.filter;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import jakarta.servlet.http.HttpServletResponse;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The core promise over real HTTP on both containers: whatever the app does wrong, the client gets
 * one complete response — the stale copy when one is allowed, else the error page.
 */
class FailureFallbackTest {

  /** A page whose behaviour a test switches between requests. */
  static final class Page {
    final AtomicReference<Servlets.Handler> behaviour = new AtomicReference<>(Page::good);

    static void good(jakarta.servlet.http.HttpServletRequest req, HttpServletResponse resp)
        throws Exception {
      resp.setContentType("text/html;charset=UTF-8");
      resp.getWriter().write("<p>good page</p>");
    }
  }

  private final FakeTicker ticker = new FakeTicker();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final Page page = new Page();

  private Container.Running start(Container container) throws Exception {
    GatewardenConfig config =
        GatewardenConfig.builder().ticker(ticker).meterRegistry(registry).build();
    return container.start(
        new Container.Deployment()
            .filter(new GatewardenFilter(config))
            .servlet("/page", Servlets.of((req, resp) -> page.behaviour.get().handle(req, resp))));
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void exceptionBeforeAnyWriteGivesErrorPageWithoutInternals(Container container) throws Exception {
    page.behaviour.set(
        (req, resp) -> {
          throw new IllegalStateException("secret-db.internal:5432 exploded");
        });
    try (Container.Running server = start(container)) {
      HttpResponse<String> r = Http.get(server.uri("/page"), "Accept", "text/html");
      assertThat(r.statusCode()).isEqualTo(500);
      assertThat(r.headers().firstValue("Content-Type"))
          .hasValueSatisfying(v -> assertThat(v).startsWith("text/html"));
      assertThat(r.headers().firstValue("Cache-Control")).contains("no-store");
      assertThat(r.headers().firstValue("X-Request-Id")).isPresent();
      assertThat(r.body())
          .contains(r.headers().firstValue("X-Request-Id").get())
          .doesNotContain("secret-db")
          .doesNotContain("IllegalStateException")
          .doesNotContain("5432");
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void databaseFailureIsAnswered503WithRetryAfter(Container container) throws Exception {
    page.behaviour.set(
        (req, resp) -> {
          throw new RuntimeException(new SQLException("connection refused by db-7"));
        });
    ch.qos.logback.classic.Logger log =
        (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("dev.gatewarden.filter");
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> lines =
        new ch.qos.logback.core.read.ListAppender<>();
    lines.start();
    log.addAppender(lines);
    try (Container.Running server = start(container)) {
      HttpResponse<String> r = Http.get(server.uri("/page?q=1"), "Accept", "application/json");
      assertThat(r.statusCode()).isEqualTo(503);
      // the incident is logged before the answer goes out; the appender's lock orders the read
      synchronized (lines) {
        assertThat(lines.list)
            .filteredOn(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
            .singleElement()
            .satisfies(
                e -> {
                  assertThat(e.getFormattedMessage())
                      .startsWith("gatewarden incident: GET /page route=default cause=database")
                      .contains(
                          "answered=error_page",
                          "status=503",
                          "request_id=" + r.headers().firstValue("X-Request-Id").orElseThrow(),
                          "remedy=\"Check the database");
                });
      }
      assertThat(r.headers().firstValue("Retry-After")).contains("30");
      assertThat(r.headers().firstValue("Content-Type")).contains("application/problem+json");
      assertThat(r.body()).contains("\"status\": 503").doesNotContain("db-7");
      assertThat(
              registry
                  .find("gatewarden.server.requests")
                  .tags("outcome", "error_page", "cause", "database")
                  .timers())
          .singleElement()
          .satisfies(t -> assertThat(t.count()).isEqualTo(1));
    } finally {
      log.detachAppender(lines);
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void exceptionAfterPartialWriteAndFlushNeverSendsTruncatedPage(Container container)
      throws Exception {
    try (Container.Running server = start(container)) {
      assertThat(Http.get(server.uri("/page")).body()).isEqualTo("<p>good page</p>");
      page.behaviour.set(
          (req, resp) -> {
            resp.setContentType("text/html;charset=UTF-8");
            resp.getWriter().write("<p>half a pa");
            resp.getWriter().flush();
            resp.flushBuffer();
            throw new IllegalStateException("boom");
          });
      HttpResponse<String> r = Http.get(server.uri("/page"));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("<p>good page</p>");
      assertThat(r.headers().firstValue("Cache-Status"))
          .hasValueSatisfying(v -> assertThat(v).startsWith("Gatewarden; fwd=request; ttl="));
      assertThat(r.headers().firstValue("Age")).contains("0");
      r.headers()
          .map()
          .forEach((name, values) -> assertThat(values).as("header %s sent once", name).hasSize(1));
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void partialWriteWithoutStaleCopyGivesErrorPageNotHalfAPage(Container container)
      throws Exception {
    page.behaviour.set(
        (req, resp) -> {
          resp.getOutputStream().write("half a pa".getBytes(StandardCharsets.UTF_8));
          resp.getOutputStream().flush();
          throw new IllegalStateException("boom");
        });
    try (Container.Running server = start(container)) {
      String raw =
          Http.raw(server.port(), "GET /page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      assertThat(raw).startsWith("HTTP/1.1 500").doesNotContain("half a pa");
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void appAnswering502GetsStaleCopyThenErrorPageAfterWindow(Container container) throws Exception {
    try (Container.Running server = start(container)) {
      Http.get(server.uri("/page"));
      page.behaviour.set((req, resp) -> resp.sendError(502, "upstream inventory.internal failed"));
      ticker.advance(Duration.ofMinutes(30));
      HttpResponse<String> stale = Http.get(server.uri("/page"));
      assertThat(stale.statusCode()).isEqualTo(200);
      assertThat(stale.body()).isEqualTo("<p>good page</p>");
      assertThat(stale.headers().firstValue("Age")).contains("1800");
      assertThat(stale.headers().firstValue("Cache-Status").orElseThrow())
          .contains("fwd-status=502");

      ticker.advance(Duration.ofMinutes(31)); // past the default one-hour window
      HttpResponse<String> page502 = Http.get(server.uri("/page"));
      assertThat(page502.statusCode()).isEqualTo(502);
      assertThat(page502.body()).doesNotContain("inventory.internal").doesNotContain("good page");
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void bodyShorterThanContentLengthIsAFailure(Container container) throws Exception {
    for (boolean flush : new boolean[] {false, true}) {
      page.behaviour.set(
          (req, resp) -> {
            resp.setContentLength(100);
            resp.getOutputStream()
                .write("only 20 bytes here..".getBytes(StandardCharsets.US_ASCII));
            if (flush) {
              resp.getOutputStream().flush();
            }
          });
      try (Container.Running server = start(container)) {
        String raw =
            Http.raw(server.port(), "GET /page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertThat(raw)
            .as("flush=" + flush)
            .startsWith("HTTP/1.1 502")
            .doesNotContain("only 20 bytes");
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void requestIdIsInTheLoggingContextAndOnTheResponse(Container container) throws Exception {
    page.behaviour.set(
        (req, resp) ->
            resp.getWriter().write("mdc=" + org.slf4j.MDC.get(GatewardenFilter.MDC_REQUEST_ID)));
    try (Container.Running server = start(container)) {
      HttpResponse<String> given =
          Http.get(server.uri("/page"), "X-Request-Id", "order-42.retry:1");
      assertThat(given.body()).isEqualTo("mdc=order-42.retry:1");
      assertThat(given.headers().firstValue("X-Request-Id")).contains("order-42.retry:1");
      HttpResponse<String> traced =
          Http.get(
              server.uri("/page"),
              "traceparent",
              "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
      assertThat(traced.body()).isEqualTo("mdc=4bf92f3577b34da6a3ce929d0e0e4736");
      HttpResponse<String> fresh = Http.get(server.uri("/page"));
      assertThat(fresh.headers().firstValue("X-Request-Id").orElseThrow()).matches("[0-9a-f]{32}");
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void streamFailingBeforeAnythingReachedTheClientIsStillReplacedWhole(Container container)
      throws Exception {
    // An event stream starts streaming at its first write, but the bytes sit in the container's
    // buffer until a flush: a failure then can still be answered with one clean page.
    page.behaviour.set(
        (req, resp) -> {
          resp.setContentType("text/event-stream");
          resp.getWriter().write("data: half an event");
          throw new IllegalStateException("feed-db.internal exploded");
        });
    try (Container.Running server = start(container)) {
      HttpResponse<String> r = Http.get(server.uri("/page"), "Accept", "text/html");
      assertThat(r.statusCode()).isEqualTo(500);
      assertThat(r.body())
          .contains(r.headers().firstValue("X-Request-Id").orElseThrow())
          .doesNotContain("half an event")
          .doesNotContain("feed-db");
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void sendErrorAfterAnUncommittedStreamGetsTheErrorPage(Container container) throws Exception {
    page.behaviour.set(
        (req, resp) -> {
          resp.setContentType("text/event-stream");
          resp.getOutputStream().write("data: first\n\n".getBytes(StandardCharsets.UTF_8));
          resp.sendError(503); // e.g. an async timeout handler giving up
        });
    try (Container.Running server = start(container)) {
      HttpResponse<String> r = Http.get(server.uri("/page"), "Accept", "text/html");
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.headers().firstValue("Retry-After")).isPresent();
      assertThat(r.body()).doesNotContain("data: first");
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void streamedBodyLongerThanItsContentLengthIsAbortedNotCut(Container container) throws Exception {
    int declared = (3 << 19) + 100; // 1.5 MiB + 100: past the 1 MiB buffer, so it streams
    page.behaviour.set(
        (req, resp) -> {
          resp.setContentType("application/octet-stream");
          resp.setContentLength(declared);
          byte[] chunk = new byte[8192];
          for (int i = 0; i < 256; i++) { // 2 MiB: more than declared
            resp.getOutputStream().write(chunk);
          }
        });
    try (Container.Running server = start(container)) {
      // never a 200 that looks complete (the container would cut the body at its length): the
      // connection breaks before the declared length, and the client sees it
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> Http.getBytes(server.uri("/page")))
          .isInstanceOf(java.io.IOException.class);
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void vmErrorIsAnsweredWithTheFriendlyPageBeforeTheContainerSeesIt(Container container)
      throws Exception {
    page.behaviour.set(
        (req, resp) -> {
          throw new OutOfMemoryError("deep in the template engine");
        });
    try (Container.Running server = start(container)) {
      HttpResponse<String> r = Http.get(server.uri("/page"), "Accept", "text/html");
      assertThat(r.statusCode()).isEqualTo(500);
      assertThat(r.body())
          .contains(r.headers().firstValue("X-Request-Id").orElseThrow())
          .doesNotContain("OutOfMemoryError")
          .doesNotContain("template engine");
    }
  }
}
