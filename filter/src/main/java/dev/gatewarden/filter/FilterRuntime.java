package dev.gatewarden.filter;

import dev.gatewarden.cache.StaleCache;

/**
 * What a started filter holds: its configuration and the collaborators built from it. Thread-safe.
 */
final class FilterRuntime {
  private final GatewardenConfig config;
  private final StaleCache cache;
  private final ErrorPages errorPages;
  private final RouteTable routes;
  private final FilterMetrics metrics;
  private final IncidentLog log = new IncidentLog();

  FilterRuntime(GatewardenConfig config, ClassLoader loader) {
    this.config = config;
    this.cache =
        StaleCache.builder()
            .maximumBytes(config.cacheMaxBytes())
            .maximumEntryBytes(config.cacheMaxEntryBytes())
            .ticker(config.ticker())
            .build();
    this.errorPages =
        ErrorPages.load(
            config.htmlTemplate(),
            config.jsonTemplate(),
            config.textTemplate(),
            config.autoRetry(),
            loader);
    this.routes = new RouteTable(config.routes(), config.defaultRoute());
    this.metrics = new FilterMetrics(config.meterRegistry());
    cache.bindTo(config.meterRegistry(), "gatewarden.stale");
  }

  GatewardenConfig config() {
    return config;
  }

  StaleCache cache() {
    return cache;
  }

  ErrorPages errorPages() {
    return errorPages;
  }

  RouteTable routes() {
    return routes;
  }

  FilterMetrics metrics() {
    return metrics;
  }

  IncidentLog log() {
    return log;
  }
}
