package dev.gatewarden.filter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatewarden.resilience.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ConfigurationTest {

  @Test
  void readsEveryFlatKey() {
    GatewardenConfig c =
        GatewardenConfig.fromProperties(
            Map.ofEntries(
                Map.entry("host", "Shop.Example.com"),
                Map.entry("buffer-size", "256KiB"),
                Map.entry(
                    "gatewarden.streaming-content-types",
                    "text/event-stream, application/x-ndjson"),
                Map.entry("request-id-header", "X-Correlation-Id"),
                Map.entry("failure-statuses", "500,503"),
                Map.entry("cache.max-bytes", "16MiB"),
                Map.entry("cache.max-entry-bytes", "512KiB"),
                Map.entry("cache.max-stale", "10m"),
                Map.entry("error-page.retry-after", "PT45S"),
                Map.entry("error-page.auto-retry", "false"),
                Map.entry("routes", "api, static"),
                Map.entry("route.api.patterns", "/api/*"),
                Map.entry("route.api.cache.enabled", "false"),
                Map.entry("route.static.patterns", "*.css, *.js"),
                Map.entry("route.static.honour-flush", "true"),
                Map.entry("route.static.cache.max-stale", "1d")));
    assertThat(c.canonicalHost()).isEqualTo("shop.example.com");
    assertThat(c.bufferSize()).isEqualTo(256 * 1024);
    assertThat(c.streamingContentTypes())
        .containsExactly("text/event-stream", "application/x-ndjson");
    assertThat(c.requestIdHeader()).isEqualTo("X-Correlation-Id");
    assertThat(c.cacheMaxBytes()).isEqualTo(16L << 20);
    assertThat(c.cacheMaxEntryBytes()).isEqualTo(512L << 10);
    assertThat(c.retryAfter()).isEqualTo(Duration.ofSeconds(45));
    assertThat(c.autoRetry()).isFalse();
    assertThat(c.defaultRoute().cache().maxStale()).isEqualTo(Duration.ofMinutes(10));
    assertThat(c.defaultRoute().failureStatuses()).containsExactly(500, 503);
    assertThat(c.routes()).extracting(Route::name).containsExactly("api", "static");
    Route api = c.routes().get(0);
    assertThat(api.cache().enabled()).isFalse();
    assertThat(api.failureStatuses()).as("inherits the global setting").containsExactly(500, 503);
    Route statics = c.routes().get(1);
    assertThat(statics.patterns()).containsExactly("*.css", "*.js");
    assertThat(statics.honourFlush()).isTrue();
    assertThat(statics.cache().maxStale()).isEqualTo(Duration.ofDays(1));
  }

  @Test
  void badValueNamesKeyValueAndWhatIsAllowed() {
    assertThatThrownBy(
            () -> GatewardenConfig.fromProperties(Map.of("cache.max-stale", "ten minutes")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("cache.max-stale")
        .hasMessageContaining("\"ten minutes\"")
        .hasMessageContaining("250ms");
    assertThatThrownBy(() -> GatewardenConfig.fromProperties(Map.of("failure-statuses", "500,404")))
        .hasMessageContaining("failure-statuses")
        .hasMessageContaining("\"404\"")
        .hasMessageContaining("500 to 599");
    assertThatThrownBy(() -> GatewardenConfig.fromProperties(Map.of("buffer-size", "12 apples")))
        .hasMessageContaining("buffer-size")
        .hasMessageContaining("1MiB");
  }

  @Test
  void unknownKeyIsRejectedSoATypoCannotDisableASetting() {
    assertThatThrownBy(() -> GatewardenConfig.fromProperties(Map.of("cache.max-stael", "1m")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("cache.max-stael")
        .hasMessageContaining("cache.max-stale");
    assertThatThrownBy(
            () -> GatewardenConfig.fromProperties(Map.of("route.api.patterns", "/api/*")))
        .as("a route key for a route not listed in routes")
        .hasMessageContaining("route.api.patterns");
  }

  @Test
  void upstreamKeysMayShareTheFiltersSettingsAndAreCheckedAtStartUp() {
    GatewardenConfig.fromProperties(
        Map.of(
            "cache.max-stale", "1m",
            "gatewarden.upstream.inventory.attempt-timeout", "800ms",
            "upstream.inventory.max-attempts", "2"));
    assertThatThrownBy(
            () ->
                GatewardenConfig.fromProperties(Map.of("upstream.inventory.max-attempts", "many")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("upstream.inventory.max-attempts")
        .hasMessageContaining("\"many\"");
    assertThatThrownBy(
            () -> GatewardenConfig.fromProperties(Map.of("upstream.inventory.retries", "2")))
        .hasMessageContaining("upstream.inventory.retries")
        .hasMessageContaining("max-attempts");
  }

  @Test
  void routeWithoutPatternsIsRejected() {
    assertThatThrownBy(() -> GatewardenConfig.fromProperties(Map.of("routes", "api")))
        .hasMessageContaining("route.api.patterns")
        .hasMessageContaining("(missing)");
    assertThatThrownBy(
            () ->
                GatewardenConfig.fromProperties(
                    Map.of("routes", "api", "route.api.patterns", "/api/**")))
        .hasMessageContaining("route.api.patterns")
        .hasMessageContaining("/api/**");
  }

  @Test
  void entryLimitAboveStoreLimitIsRejected() {
    assertThatThrownBy(
            () ->
                GatewardenConfig.fromProperties(
                    Map.of("cache.max-bytes", "1MiB", "cache.max-entry-bytes", "2MiB")))
        .hasMessageContaining("cache.max-entry-bytes");
  }

  @Test
  void routesMatchInOrderWithServletSyntax() {
    Route api = Route.builder("api").patterns("/api/*").build();
    Route health = Route.builder("health").patterns("/health").build();
    Route css = Route.builder("css").patterns("*.css").build();
    Route fallback = Route.builder("default").build();
    RouteTable t = new RouteTable(java.util.List.of(api, health, css), fallback);
    assertThat(t.match("/api")).isSameAs(api);
    assertThat(t.match("/api/orders/1")).isSameAs(api);
    assertThat(t.match("/apix")).isSameAs(fallback);
    assertThat(t.match("/health")).isSameAs(health);
    assertThat(t.match("/health/x")).isSameAs(fallback);
    assertThat(t.match("/a/b/site.css")).isSameAs(css);
    assertThat(t.match("/a.css/x")).isSameAs(fallback);
    assertThat(t.match("/")).isSameAs(fallback);
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void badInitParamStopsStartUpWithClearMessage(Container container) {
    Container.Deployment d =
        new Container.Deployment()
            .filter(new GatewardenFilter())
            .initParam("error-page.retry-after", "soon")
            .servlet("/x", Servlets.of((req, resp) -> resp.getWriter().write("x")));
    // Jetty reports the filter's exception to the caller of start(); Tomcat only says the context
    // failed and logs the filter's exception through java.util.logging, so read both.
    StringBuilder all = new StringBuilder();
    Handler capture =
        new Handler() {
          @Override
          public void publish(LogRecord r) {
            for (Throwable t = r.getThrown(); t != null; t = t.getCause()) {
              all.append(t.getMessage()).append('\n');
            }
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    Logger root = Logger.getLogger("");
    root.addHandler(capture);
    try {
      assertThatThrownBy(() -> container.start(d).close())
          .satisfies(
              e -> {
                for (Throwable t = e; t != null; t = t.getCause()) {
                  all.append(t.getMessage()).append('\n');
                }
              });
    } finally {
      root.removeHandler(capture);
    }
    assertThat(all.toString())
        .contains("error-page.retry-after")
        .contains("\"soon\"")
        .contains("250ms");
  }

  @ParameterizedTest
  @EnumSource(Container.class)
  void readsSettingsFromAPropertiesFileNamedByAnInitParam(Container container, @TempDir Path dir)
      throws Exception {
    Path file = dir.resolve("gatewarden.properties");
    Files.writeString(file, "gatewarden.request-id-header=X-Trace\nerror-page.auto-retry=false\n");
    try (Container.Running server =
        container.start(
            new Container.Deployment()
                .filter(new GatewardenFilter())
                .initParam("config-file", file.toString())
                .servlet("/x", Servlets.of((req, resp) -> resp.getWriter().write("x"))))) {
      assertThat(Http.get(server.uri("/x")).headers().firstValue("X-Trace")).isPresent();
    }
  }
}
