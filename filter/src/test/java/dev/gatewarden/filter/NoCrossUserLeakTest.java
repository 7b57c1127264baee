package dev.gatewarden.filter;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import jakarta.servlet.http.HttpServletRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The stale cache must never hand one user's page to another: every non-storable case gets the
 * error page after a failure, and 50 concurrent users with their own credentials only ever see
 * their own page or an error page. Also: Vary variants, invalidation by POST, HEAD, 204/304, and
 * escaping.
 */
class NoCrossUserLeakTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final AtomicBoolean failing = new AtomicBoolean();

  /** Echoes who asked; fails while {@link #failing} is set. */
  private Container.Running start(Container container, Servlets.Handler extra) throws Exception {
    GatewardenConfig config = GatewardenConfig.builder().meterRegistry(registry).build();
    return container.start(
        new Container.Deployment()
            .filter(new GatewardenFilter(config))
            .servlet(
                "/page/*",
                Servlets.of(
                    (req, resp) -> {
                      if (failing.get() && !"POST".equals(req.getMethod())) {
                        throw new IllegalStateException("down");
                      }
                      resp.setContentType("text/plain;charset=UTF-8");
                      extra.handle(req, resp);
                      resp.getWriter().write("page for " + identity(req));
                    })));
  }

  private static String identity(HttpServletRequest req) {
    String auth = req.getHeader("Authorization");
    String cookie = req.getHeader("Cookie");
    return auth != null ? auth : cookie != null ? cookie : "anonymous";
  }

  private static final String[][] NON_STORABLE_REQUESTS = {
    {"Authorization", "Bearer alice"}, {"Cookie", "session=alice"},
  };

  @ParameterizedTest
  @EnumSource(Container.class)
  void requestsWithCredentialsAreNeverStoredNorServedStale(Container container) throws Exception {
    try (Container.Running server = start(container, (req, resp) -> {})) {
      for (String[] h : NON_STORABLE_REQUESTS) {
        failing.set(false);
        assertThat(Http.get(server.uri("/page/" + h[0]), h[0], h[1]).body())
            .isEqualTo("page for " + h[1]);
        failing.set(true);
        HttpResponse<String> r = Http.get(server.uri("/page/" + h[0]), h[0], h[1]);
        assertThat(r.statusCode()).as(h[0]).isEqualTo(500);
        assertThat(r.body()).doesNotContain("page for");
        // and the anonymous user gets no copy either
        assertThat(Http.get(server.uri("/page/" + h[0])).statusCode()).isEqualTo(500);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void usersKnownWithoutCredentialHeadersAreNeverStoredNorServedStale(Container container)
      throws Exception {
    // A front proxy or the container authenticated the user (a remote user, as AJP passes it, or
    // a TLS client certificate): no Authorization, no Cookie, yet the page is personal.
    GatewardenFilter gatewarden =
        new GatewardenFilter(GatewardenConfig.builder().meterRegistry(registry).build());
    jakarta.servlet.Filter authenticatedUpFront =
        new jakarta.servlet.Filter() {
          @Override
          public void init(jakarta.servlet.FilterConfig config)
              throws jakarta.servlet.ServletException {
            gatewarden.init(config);
          }

          @Override
          public void doFilter(
              jakarta.servlet.ServletRequest req,
              jakarta.servlet.ServletResponse res,
              jakarta.servlet.FilterChain chain)
              throws java.io.IOException, jakarta.servlet.ServletException {
            HttpServletRequest http = (HttpServletRequest) req;
            String user = http.getHeader("X-Test-User");
            String cert = http.getHeader("X-Test-Cert");
            if (cert != null) {
              http.setAttribute(
                  "jakarta.servlet.request.X509Certificate",
                  new java.security.cert.X509Certificate[0]);
            }
            gatewarden.doFilter(
                user == null
                    ? http
                    : new jakarta.servlet.http.HttpServletRequestWrapper(http) {
                      @Override
                      public String getRemoteUser() {
                        return user;
                      }
                    },
                res,
                chain);
          }

          @Override
          public void destroy() {
            gatewarden.destroy();
          }
        };
    try (Container.Running server =
        container.start(
            new Container.Deployment()
                .filter(authenticatedUpFront)
                .servlet(
                    "/page/*",
                    Servlets.of(
                        (req, resp) -> {
                          if (failing.get()) {
                            throw new IllegalStateException("down");
                          }
                          String who = req.getRemoteUser();
                          resp.getWriter().write("page for " + (who == null ? "a cert" : who));
                        })))) {
      for (String[] h : new String[][] {{"X-Test-Cert", "alice"}, {"X-Test-User", "alice"}}) {
        failing.set(false);
        assertThat(Http.get(server.uri("/page/" + h[0]), h[0], h[1]).body()).startsWith("page for");
        failing.set(true);
        HttpResponse<String> anonymous = Http.get(server.uri("/page/" + h[0]));
        assertThat(anonymous.statusCode()).as(h[0]).isEqualTo(500);
        assertThat(anonymous.body()).doesNotContain("page for");
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void nonShareableResponsesAreNeverServedStale(Container container) throws Exception {
    String[][] cases = {
      {"Set-Cookie", "session=alice"},
      {"Cache-Control", "private"},
      {"Cache-Control", "no-store"},
      {"Vary", "*"},
      {"Vary", "Cookie"},
    };
    for (String[] c : cases) {
      failing.set(false);
      try (Container.Running server = start(container, (req, resp) -> resp.setHeader(c[0], c[1]))) {
        assertThat(Http.get(server.uri("/page/x")).statusCode()).isEqualTo(200);
        failing.set(true);
        HttpResponse<String> r = Http.get(server.uri("/page/x"));
        assertThat(r.statusCode()).as(c[0] + ": " + c[1]).isEqualTo(500);
        assertThat(r.headers().firstValue("Set-Cookie")).isEmpty();
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void fiftyConcurrentUsersNeverSeeAnotherUsersPage(Container container) throws Exception {
    try (Container.Running server = start(container, (req, resp) -> {})) {
      for (String kind : new String[] {"Authorization", "Cookie"}) {
        for (boolean fail : new boolean[] {false, true}) {
          failing.set(fail);
          ExecutorService pool = Executors.newFixedThreadPool(50);
          CountDownLatch gate = new CountDownLatch(1);
          List<Future<HttpResponse<String>>> answers = new ArrayList<>();
          for (int u = 0; u < 50; u++) {
            String who = kind.equals("Authorization") ? "Bearer user-" + u : "session=user-" + u;
            answers.add(
                pool.submit(
                    () -> {
                      gate.await();
                      return Http.get(server.uri("/page/shared"), kind, who);
                    }));
          }
          gate.countDown();
          for (int u = 0; u < 50; u++) {
            HttpResponse<String> r = answers.get(u).get(30, TimeUnit.SECONDS);
            String mine = "user-" + u;
            if (fail) {
              assertThat(r.statusCode()).isEqualTo(500);
              assertThat(r.body()).doesNotContain("page for");
            } else {
              assertThat(r.body()).endsWith(mine);
            }
            assertThat(r.body().replace(mine, "")).doesNotContain("user-");
          }
          pool.shutdown();
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void varyVariantsAreKeptApart(Container container) throws Exception {
    try (Container.Running server =
        start(
            container,
            (req, resp) -> {
              resp.setHeader("Vary", "Accept-Language");
              resp.getWriter().write(req.getHeader("Accept-Language") + ": ");
            })) {
      Http.get(server.uri("/page/v"), "Accept-Language", "en");
      Http.get(server.uri("/page/v"), "Accept-Language", "de");
      failing.set(true);
      assertThat(Http.get(server.uri("/page/v"), "Accept-Language", "en").body())
          .startsWith("en: ");
      assertThat(Http.get(server.uri("/page/v"), "Accept-Language", "de").body())
          .startsWith("de: ");
      assertThat(Http.get(server.uri("/page/v"), "Accept-Language", "fr").statusCode())
          .isEqualTo(500);
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void successfulPostInvalidatesTheStoredCopy(Container container) throws Exception {
    try (Container.Running server = start(container, (req, resp) -> {})) {
      Http.get(server.uri("/page/item"));
      failing.set(true);
      assertThat(Http.get(server.uri("/page/item")).statusCode()).isEqualTo(200);
      assertThat(Http.send("POST", server.uri("/page/item"), "x").statusCode()).isEqualTo(200);
      assertThat(Http.get(server.uri("/page/item")).statusCode()).isEqualTo(500);
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void headIsAnsweredFromTheGetCopyWithHeadersOnly(Container container) throws Exception {
    try (Container.Running server = start(container, (req, resp) -> {})) {
      Http.get(server.uri("/page/h"));
      failing.set(true);
      String raw =
          Http.raw(
              server.port(),
              "HEAD /page/h HTTP/1.1\r\nHost: 127.0.0.1:"
                  + server.port()
                  + "\r\nConnection: close\r\n\r\n");
      assertThat(raw).startsWith("HTTP/1.1 200").contains("Cache-Status:").endsWith("\r\n\r\n");
      assertThat(raw).containsIgnoringCase("Content-Length: " + "page for anonymous".length());
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void noContentAndNotModifiedPassThroughWithoutABody(Container container) throws Exception {
    try (Container.Running server =
        start(
            container,
            (req, resp) -> {
              resp.setStatus(req.getPathInfo().equals("/204") ? 204 : 304);
              resp.flushBuffer();
            })) {
      for (String code : new String[] {"204", "304"}) {
        String raw =
            Http.raw(
                server.port(),
                "GET /page/" + code + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertThat(raw).startsWith("HTTP/1.1 " + code).endsWith("\r\n\r\n");
        assertThat(raw).doesNotContain("page for");
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void scriptPayloadsAreEscapedInPathQueryAndRequestId(Container container) throws Exception {
    failing.set(true);
    try (Container.Running server = start(container, (req, resp) -> {})) {
      HttpResponse<String> r =
          Http.get(
              server.uri(
                  "/page/%3Cscript%3Ealert(1)%3C/script%3E?q=%3Cscript%3Ealert(2)%3C/script%3E"),
              "Accept",
              "text/html",
              "X-Request-Id",
              "<script>alert(3)</script>");
      assertThat(r.statusCode()).isEqualTo(500);
      assertThat(r.body()).doesNotContain("<script>").doesNotContain("alert(3)");
      assertThat(r.headers().firstValue("X-Request-Id").orElseThrow()).matches("[0-9a-f]{32}");
      assertThat(r.body()).contains(r.headers().firstValue("X-Request-Id").orElseThrow());
      HttpResponse<String> json =
          Http.get(server.uri("/page/%22%3E%3Cimg%20src=x%3E"), "Accept", "application/json");
      assertThat(json.headers().firstValue("Content-Type")).contains("application/problem+json");
      assertThat(json.body()).doesNotContain("<img").contains("\"status\": 500");
    }
  }
}
