package dev.gatewarden.filter;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The capture wrapper honours the servlet response contract, observed over real HTTP. */
class ServletContractOverHttpTest {

  private Container.Running start(Container container, Servlets.Handler handler) throws Exception {
    GatewardenConfig config =
        GatewardenConfig.builder().meterRegistry(new SimpleMeterRegistry()).build();
    return container.start(
        new Container.Deployment()
            .filter(new GatewardenFilter(config))
            .servlet("/c/*", Servlets.of(handler)));
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void writerAndOutputStreamAreExclusive(Container container) throws Exception {
    try (Container.Running server =
        start(
            container,
            (req, resp) -> {
              String result;
              if (req.getPathInfo().equals("/stream-first")) {
                resp.getOutputStream();
                try {
                  resp.getWriter();
                  result = "no exception";
                } catch (IllegalStateException e) {
                  result = "IllegalStateException";
                }
                resp.getOutputStream().write(result.getBytes(StandardCharsets.US_ASCII));
              } else {
                resp.getWriter();
                try {
                  resp.getOutputStream();
                  result = "no exception";
                } catch (IllegalStateException e) {
                  result = "IllegalStateException";
                }
                resp.getWriter().write(result);
              }
            })) {
      assertThat(Http.get(server.uri("/c/stream-first")).body()).isEqualTo("IllegalStateException");
      assertThat(Http.get(server.uri("/c/writer-first")).body()).isEqualTo("IllegalStateException");
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void characterEncodingsRoundTrip(Container container) throws Exception {
    try (Container.Running server =
        start(
            container,
            (req, resp) -> {
              if (req.getPathInfo().equals("/utf8")) {
                resp.setContentType("text/plain");
                resp.setCharacterEncoding("UTF-8");
                resp.getWriter().write("Grüße €");
                resp.setCharacterEncoding("ISO-8859-1"); // ignored after getWriter()
              } else {
                resp.setContentType("text/plain");
                resp.getWriter().write("Grüße"); // the default: ISO-8859-1
              }
            })) {
      HttpResponse<byte[]> utf8 = Http.getBytes(server.uri("/c/utf8"));
      assertThat(utf8.body()).isEqualTo("Grüße €".getBytes(StandardCharsets.UTF_8));
      assertThat(utf8.headers().firstValue("Content-Type").orElseThrow().toLowerCase())
          .contains("charset=utf-8");
      HttpResponse<byte[]> latin = Http.getBytes(server.uri("/c/latin"));
      assertThat(latin.body()).isEqualTo("Grüße".getBytes(StandardCharsets.ISO_8859_1));
      assertThat(latin.headers().firstValue("Content-Type").orElseThrow().toLowerCase())
          .contains("charset=iso-8859-1");
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void resetClearsBodyAndHeadersButKeepsTheRequestId(Container container) throws Exception {
    try (Container.Running server =
        start(
            container,
            (req, resp) -> {
              resp.setHeader("X-Before", "yes");
              resp.getWriter().write("discarded");
              resp.getWriter().flush(); // absorbed, so reset is still allowed
              if (req.getPathInfo().equals("/reset")) {
                resp.reset();
              } else {
                resp.resetBuffer();
              }
              resp.getWriter().write("kept");
            })) {
      HttpResponse<String> reset = Http.get(server.uri("/c/reset"));
      assertThat(reset.body()).isEqualTo("kept");
      assertThat(reset.headers().firstValue("X-Before")).isEmpty();
      assertThat(reset.headers().firstValue("X-Request-Id")).isPresent();
      HttpResponse<String> resetBuffer = Http.get(server.uri("/c/reset-buffer"));
      assertThat(resetBuffer.body()).isEqualTo("kept");
      assertThat(resetBuffer.headers().firstValue("X-Before")).contains("yes");
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void flushWithinTheBufferDoesNotCommit(Container container) throws Exception {
    try (Container.Running server =
        start(
            container,
            (req, resp) -> {
              resp.getWriter().write("a");
              resp.flushBuffer();
              resp.getWriter().write(resp.isCommitted() ? " committed" : " not committed");
            })) {
      assertThat(Http.get(server.uri("/c/x")).body()).isEqualTo("a not committed");
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void setBufferSizeAfterAWriteThrows(Container container) throws Exception {
    try (Container.Running server =
        start(
            container,
            (req, resp) -> {
              resp.getWriter().write("x");
              resp.getWriter().flush();
              try {
                resp.setBufferSize(10);
                resp.getWriter().write(" no exception");
              } catch (IllegalStateException e) {
                resp.getWriter().write(" IllegalStateException");
              }
            })) {
      assertThat(Http.get(server.uri("/c/x")).body()).isEqualTo("x IllegalStateException");
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void contentLengthLongIsHonouredAndALongerBodyIsAFailure(Container container) throws Exception {
    try (Container.Running server =
        start(
            container,
            (req, resp) -> {
              resp.setContentLengthLong(5);
              resp.getOutputStream()
                  .write(
                      (req.getPathInfo().equals("/exact") ? "12345" : "1234567")
                          .getBytes(StandardCharsets.US_ASCII));
            })) {
      HttpResponse<String> exact = Http.get(server.uri("/c/exact"));
      assertThat(exact.statusCode()).isEqualTo(200);
      assertThat(exact.body()).isEqualTo("12345");
      String raw =
          Http.raw(server.port(), "GET /c/longer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      assertThat(raw).startsWith("HTTP/1.1 502");
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void clientErrorsAndRedirectsPassThroughUnchanged(Container container) throws Exception {
    try (Container.Running server =
        start(
            container,
            (req, resp) -> {
              if (req.getPathInfo().equals("/missing")) {
                resp.sendError(404);
              } else {
                resp.sendRedirect("/c/elsewhere");
              }
            })) {
      assertThat(Http.get(server.uri("/c/missing")).statusCode()).isEqualTo(404);
      HttpResponse<String> redirect = Http.get(server.uri("/c/moved"));
      assertThat(redirect.statusCode()).isEqualTo(302);
      assertThat(redirect.headers().firstValue("Location").orElseThrow()).endsWith("/c/elsewhere");
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void frameworkStyleFlushAfterEveryWriteStillYieldsAStoredCopy(Container container)
      throws Exception {
    java.util.concurrent.atomic.AtomicBoolean fail =
        new java.util.concurrent.atomic.AtomicBoolean();
    try (Container.Running server =
        start(
            container,
            (req, resp) -> {
              if (fail.get()) {
                throw new IllegalStateException("down");
              }
              resp.setContentType("application/json");
              for (String part : new String[] {"{\"a\":", "1", "}"}) {
                resp.getOutputStream().write(part.getBytes(StandardCharsets.US_ASCII));
                resp.getOutputStream().flush(); // as Spring MVC's converters do
              }
            })) {
      assertThat(Http.get(server.uri("/c/json")).body()).isEqualTo("{\"a\":1}");
      fail.set(true);
      HttpResponse<String> stale = Http.get(server.uri("/c/json"));
      assertThat(stale.statusCode()).isEqualTo(200);
      assertThat(stale.body()).isEqualTo("{\"a\":1}");
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void servlet61RedirectWithAStatusIsCapturedToo(Container container) throws Exception {
    try (Container.Running server =
        start(
            container,
            (req, resp) -> {
              // Servlet 6.1's sendRedirect(String, int, boolean), called as an app built against
              // 6.1 would; the baseline API this test compiles against is 6.0.
              resp.getClass()
                  .getMethod("sendRedirect", String.class, int.class, boolean.class)
                  .invoke(resp, "/c/new-home", 307, true);
              resp.getWriter().write("ignored after a redirect");
            })) {
      HttpResponse<String> r = Http.get(server.uri("/c/old"));
      assertThat(r.statusCode()).isEqualTo(307);
      assertThat(r.headers().firstValue("Location").orElseThrow()).endsWith("/c/new-home");
      assertThat(r.body()).doesNotContain("ignored");
    }
  }
}
