package dev.gatewarden.filter;

import dev.gatewarden.cache.CachePolicy;
import dev.gatewarden.resilience.ConfigException;
import dev.gatewarden.resilience.ConfigValues;
import dev.gatewarden.resilience.UpstreamPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Reads the flat configuration keys (documented in {@code docs/configuration.md}) into a {@link
 * GatewardenConfig.Builder}. Every key is validated; an unknown key, a bad value or a contradiction
 * throws a {@link ConfigException} naming the key, the value and what is allowed.
 */
final class FlatKeys {
  static final String PREFIX = "gatewarden.";
  static final List<String> GLOBAL_KEYS =
      List.of(
          "host",
          "buffer-size",
          "streaming-content-types",
          "request-id-header",
          "failure-statuses",
          "honour-flush",
          "outbound-deadline",
          "cache.enabled",
          "cache.max-bytes",
          "cache.max-entry-bytes",
          "cache.max-stale",
          "cache.ignore-request-cookies",
          "error-page.retry-after",
          "error-page.auto-retry",
          "error-page.html-template",
          "error-page.json-template",
          "error-page.text-template",
          "routes");
  static final List<String> ROUTE_KEYS =
      List.of(
          "patterns",
          "failure-statuses",
          "honour-flush",
          "outbound-deadline",
          "cache.enabled",
          "cache.max-stale",
          "cache.ignore-request-cookies");

  private FlatKeys() {}

  static GatewardenConfig.Builder read(Map<String, String> raw, GatewardenConfig.Builder b) {
    Map<String, String> p = new TreeMap<>();
    raw.forEach(
        (k, v) -> {
          String key = k.trim();
          p.put(key.startsWith(PREFIX) ? key.substring(PREFIX.length()) : key, v);
        });
    List<String> routeNames = p.containsKey("routes") ? list(p, "routes") : List.of();
    checkKnown(p, routeNames);
    // upstream.<name>.* keys may share this file: the filter does not use them, but a bad one
    // stops start-up here as it would where the application reads them
    UpstreamPolicy.fromProperties(p);

    with(p, "host", v -> b.canonicalHost(v));
    with(p, "buffer-size", v -> b.bufferSize(toInt("buffer-size", v)));
    with(
        p,
        "streaming-content-types",
        v -> b.streamingContentTypes(list(p, "streaming-content-types")));
    with(p, "request-id-header", b::requestIdHeader);
    with(p, "cache.max-bytes", v -> b.cacheMaxBytes(ConfigValues.bytes("cache.max-bytes", v)));
    with(
        p,
        "cache.max-entry-bytes",
        v -> b.cacheMaxEntryBytes(ConfigValues.bytes("cache.max-entry-bytes", v)));
    with(
        p,
        "error-page.retry-after",
        v -> b.retryAfter(ConfigValues.duration("error-page.retry-after", v)));
    with(
        p,
        "error-page.auto-retry",
        v -> b.autoRetry(ConfigValues.bool("error-page.auto-retry", v)));
    with(p, "error-page.html-template", b::htmlTemplate);
    with(p, "error-page.json-template", b::jsonTemplate);
    with(p, "error-page.text-template", b::textTemplate);

    Route defaults = route(p, "", Route.builder("default").build().toBuilder("default")).build();
    b.defaultRoute(defaults);
    Set<String> seen = new LinkedHashSet<>();
    for (String name : routeNames) {
      String prefix = "route." + name + ".";
      if (!seen.add(name) || name.equals("default")) {
        throw new ConfigException(
            "routes", p.get("routes"), "distinct route names other than \"default\"");
      }
      Route.Builder rb;
      try {
        rb = defaults.toBuilder(name);
      } catch (IllegalArgumentException e) {
        throw new ConfigException("routes", name, "route names of letters, digits, '-' or '_'", e);
      }
      if (!p.containsKey(prefix + "patterns")) {
        throw new ConfigException(
            prefix + "patterns", null, "path patterns such as /api/*, /health or *.css");
      }
      b.route(route(p, prefix, rb).build());
    }
    try {
      b.build();
    } catch (IllegalArgumentException e) {
      throw new ConfigException(
          "cache.max-entry-bytes", p.get("cache.max-entry-bytes"), "at most cache.max-bytes", e);
    }
    return b;
  }

  private static Route.Builder route(Map<String, String> p, String prefix, Route.Builder rb) {
    with(
        p,
        prefix + "patterns",
        v -> {
          for (String pattern : list(p, prefix + "patterns")) {
            rb.patterns(pattern);
          }
        });
    with(
        p,
        prefix + "failure-statuses",
        v -> rb.failureStatuses(statuses(prefix + "failure-statuses", v)));
    with(
        p,
        prefix + "outbound-deadline",
        v -> rb.outboundDeadline(ConfigValues.duration(prefix + "outbound-deadline", v)));
    with(
        p,
        prefix + "honour-flush",
        v -> rb.honourFlush(ConfigValues.bool(prefix + "honour-flush", v)));
    CachePolicy base = prefix.isEmpty() ? CachePolicy.defaults() : rb.build().cache();
    CachePolicy.Builder cb = base.toBuilder();
    with(
        p,
        prefix + "cache.enabled",
        v -> cb.enabled(ConfigValues.bool(prefix + "cache.enabled", v)));
    with(
        p,
        prefix + "cache.max-stale",
        v -> {
          Duration d = ConfigValues.duration(prefix + "cache.max-stale", v);
          cb.maxStale(d);
        });
    with(
        p,
        prefix + "cache.ignore-request-cookies",
        v ->
            cb.ignoreRequestCookies(ConfigValues.bool(prefix + "cache.ignore-request-cookies", v)));
    rb.cache(cb.build());
    return rb;
  }

  private static Set<Integer> statuses(String key, String value) {
    Set<Integer> out = new LinkedHashSet<>();
    for (String s : ConfigValues.list(key, value)) {
      out.add(ConfigValues.integer(key, s, 500, 599));
    }
    if (out.isEmpty()) {
      throw new ConfigException(key, value, "a comma-separated list of statuses from 500 to 599");
    }
    return out;
  }

  private static int toInt(String key, String value) {
    long n = ConfigValues.bytes(key, value);
    if (n < 1024 || n > (64 << 20)) {
      throw new ConfigException(key, value, "a size from 1KiB to 64MiB");
    }
    return (int) n;
  }

  private static List<String> list(Map<String, String> p, String key) {
    return ConfigValues.list(key, p.get(key));
  }

  /** Applies a setter, turning a builder's IllegalArgumentException into a ConfigException. */
  private static void with(Map<String, String> p, String key, Consumer<String> setter) {
    String value = p.get(key);
    if (value == null) {
      return;
    }
    try {
      setter.accept(value.trim());
    } catch (ConfigException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, value, e.getMessage(), e);
    }
  }

  private static void checkKnown(Map<String, String> p, List<String> routeNames) {
    List<String> allowed = new ArrayList<>(GLOBAL_KEYS);
    for (String name : routeNames) {
      for (String k : ROUTE_KEYS) {
        allowed.add("route." + name + "." + k);
      }
    }
    for (String key : p.keySet()) {
      if (!allowed.contains(key) && !key.startsWith("upstream.")) {
        String hint =
            key.startsWith("route.")
                ? "a route key of a route listed in \"routes\" (route.<name>.{"
                    + String.join(", ", ROUTE_KEYS)
                    + "})"
                : "one of " + String.join(", ", GLOBAL_KEYS) + " (see docs/configuration.md)";
        throw new ConfigException(key, p.get(key), hint);
      }
    }
  }
}
