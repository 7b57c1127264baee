package dev.gatewarden.resilience;

import dev.gatewarden.cache.CachePolicy;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Reads upstream policies from flat keys, the same way the filter reads its own: {@code
 * upstream.<name>.<setting>} (optionally prefixed {@code gatewarden.}). Every key is validated;
 * unknown keys under {@code upstream.} are rejected with a message naming the key, the value and
 * what is allowed.
 */
final class UpstreamKeys {
  static final List<String> SETTINGS =
      List.of(
          "attempt-timeout",
          "total-timeout",
          "minimum-attempt-time",
          "max-attempts",
          "backoff-initial",
          "backoff-max",
          "retry-statuses",
          "retry-non-idempotent",
          "retry-with-idempotency-key",
          "retry-after-cap",
          "retry-budget.ratio",
          "retry-budget.min-per-second",
          "breaker.failure-rate",
          "breaker.window",
          "breaker.minimum-calls",
          "breaker.open-for",
          "bulkhead.max-concurrent",
          "stale.enabled",
          "stale.max-stale");

  private UpstreamKeys() {}

  static Map<String, UpstreamPolicy> read(Map<String, String> raw) {
    Map<String, Map<String, String>> byName = new LinkedHashMap<>();
    raw.forEach(
        (k, v) -> {
          String key = k.trim();
          if (key.startsWith("gatewarden.")) {
            key = key.substring("gatewarden.".length());
          }
          if (!key.startsWith("upstream.")) {
            return;
          }
          String rest = key.substring("upstream.".length());
          int dot = rest.indexOf('.');
          String setting = dot < 0 ? "" : rest.substring(dot + 1);
          if (dot <= 0 || !SETTINGS.contains(setting)) {
            throw new ConfigException(
                key, v, "upstream.<name>.<setting> with a setting among " + SETTINGS);
          }
          byName
              .computeIfAbsent(rest.substring(0, dot), n -> new LinkedHashMap<>())
              .put(setting, v);
        });
    Map<String, UpstreamPolicy> out = new LinkedHashMap<>();
    byName.forEach((name, settings) -> out.put(name, policy(name, settings)));
    return out;
  }

  private static UpstreamPolicy policy(String name, Map<String, String> p) {
    String prefix = "upstream." + name + ".";
    UpstreamPolicy.Builder b;
    try {
      b = UpstreamPolicy.builder(name);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(
          prefix + "*", name, "an upstream name of letters, digits, '.', '-' or '_'", e);
    }
    CachePolicy.Builder stale = CachePolicy.builder();
    with(
        p,
        prefix,
        "attempt-timeout",
        v -> b.attemptTimeout(ConfigValues.duration(prefix + "attempt-timeout", v)));
    with(
        p,
        prefix,
        "total-timeout",
        v -> b.totalTimeout(ConfigValues.duration(prefix + "total-timeout", v)));
    with(
        p,
        prefix,
        "minimum-attempt-time",
        v -> b.minimumAttemptTime(ConfigValues.duration(prefix + "minimum-attempt-time", v)));
    with(
        p,
        prefix,
        "max-attempts",
        v -> b.maxAttempts(ConfigValues.integer(prefix + "max-attempts", v, 1, 10)));
    Duration[] backoff = {null, null};
    with(
        p,
        prefix,
        "backoff-initial",
        v -> backoff[0] = ConfigValues.duration(prefix + "backoff-initial", v));
    with(
        p,
        prefix,
        "backoff-max",
        v -> backoff[1] = ConfigValues.duration(prefix + "backoff-max", v));
    if (backoff[0] != null || backoff[1] != null) {
      Duration initial = backoff[0] != null ? backoff[0] : Duration.ofMillis(50);
      Duration max =
          backoff[1] != null
              ? backoff[1]
              : Duration.ofSeconds(1).compareTo(initial) < 0 ? initial : Duration.ofSeconds(1);
      guard(prefix + "backoff-max", p.get("backoff-max"), () -> b.backoff(initial, max));
    }
    with(
        p,
        prefix,
        "retry-statuses",
        v -> {
          Set<Integer> statuses = new LinkedHashSet<>();
          for (String s : ConfigValues.list(prefix + "retry-statuses", v)) {
            statuses.add(ConfigValues.integer(prefix + "retry-statuses", s, 400, 599));
          }
          b.retryStatuses(statuses);
        });
    with(
        p,
        prefix,
        "retry-non-idempotent",
        v -> b.retryNonIdempotent(ConfigValues.bool(prefix + "retry-non-idempotent", v)));
    with(
        p,
        prefix,
        "retry-with-idempotency-key",
        v ->
            b.retryWithIdempotencyKey(ConfigValues.bool(prefix + "retry-with-idempotency-key", v)));
    with(
        p,
        prefix,
        "retry-after-cap",
        v -> b.retryAfterCap(ConfigValues.duration(prefix + "retry-after-cap", v)));
    if (p.containsKey("retry-budget.ratio") || p.containsKey("retry-budget.min-per-second")) {
      double ratio = 0.2;
      if (p.containsKey("retry-budget.ratio")) {
        String v = p.get("retry-budget.ratio");
        try {
          ratio = Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
          throw new ConfigException(
              prefix + "retry-budget.ratio", v, "a number from 0 to 1, e.g. 0.2", e);
        }
      }
      int min =
          p.containsKey("retry-budget.min-per-second")
              ? ConfigValues.integer(
                  prefix + "retry-budget.min-per-second",
                  p.get("retry-budget.min-per-second"),
                  0,
                  10_000)
              : 5;
      double r = ratio;
      guard(
          prefix + "retry-budget.ratio", p.get("retry-budget.ratio"), () -> b.retryBudget(r, min));
    }
    if (p.keySet().stream().anyMatch(k -> k.startsWith("breaker."))) {
      float rate =
          p.containsKey("breaker.failure-rate")
              ? ConfigValues.integer(
                  prefix + "breaker.failure-rate", p.get("breaker.failure-rate"), 1, 100)
              : 50;
      int window =
          p.containsKey("breaker.window")
              ? ConfigValues.integer(prefix + "breaker.window", p.get("breaker.window"), 1, 10_000)
              : 50;
      int minimum =
          p.containsKey("breaker.minimum-calls")
              ? ConfigValues.integer(
                  prefix + "breaker.minimum-calls", p.get("breaker.minimum-calls"), 1, 10_000)
              : 20;
      Duration openFor =
          p.containsKey("breaker.open-for")
              ? ConfigValues.duration(prefix + "breaker.open-for", p.get("breaker.open-for"))
              : Duration.ofSeconds(10);
      guard(
          prefix + "breaker.open-for",
          p.get("breaker.open-for"),
          () -> b.circuitBreaker(rate, window, minimum, openFor));
    }
    with(
        p,
        prefix,
        "bulkhead.max-concurrent",
        v -> b.bulkhead(ConfigValues.integer(prefix + "bulkhead.max-concurrent", v, 1, 100_000)));
    with(
        p,
        prefix,
        "stale.enabled",
        v -> stale.enabled(ConfigValues.bool(prefix + "stale.enabled", v)));
    with(
        p,
        prefix,
        "stale.max-stale",
        v -> stale.maxStale(ConfigValues.duration(prefix + "stale.max-stale", v)));
    b.stale(stale.build());
    try {
      return b.build();
    } catch (IllegalArgumentException e) { // the checks across settings
      if (e.getMessage().startsWith(UpstreamPolicy.Builder.MINIMUM_ATTEMPT_TIME)) {
        String setting =
            p.containsKey("minimum-attempt-time") ? "minimum-attempt-time" : "total-timeout";
        throw new ConfigException(
            prefix + setting,
            p.get(setting),
            (setting.equals("minimum-attempt-time")
                    ? "a duration less than " + prefix + "total-timeout"
                    : "a duration greater than "
                        + prefix
                        + "minimum-attempt-time (default "
                        + defaults("minimum-attempt-time")
                        + ")")
                + "; "
                + e.getMessage(),
            e);
      }
      String setting = p.containsKey("attempt-timeout") ? "attempt-timeout" : "total-timeout";
      String other = setting.equals("attempt-timeout") ? "total-timeout" : "attempt-timeout";
      throw new ConfigException(
          prefix + setting,
          p.get(setting),
          (setting.equals("attempt-timeout") ? "a duration at most " : "a duration at least ")
              + prefix
              + other
              + (p.containsKey(other) ? "" : " (default " + defaults(other) + ")")
              + "; "
              + e.getMessage(),
          e);
    }
  }

  /** A time setting's default as the docs write it. */
  private static String defaults(String setting) {
    UpstreamPolicy d = UpstreamPolicy.builder("defaults").build();
    Duration v =
        switch (setting) {
          case "attempt-timeout" -> d.attemptTimeout();
          case "total-timeout" -> d.totalTimeout();
          default -> d.minimumAttemptTime;
        };
    return v.toMillis() % 1000 == 0 ? v.toSeconds() + "s" : v.toMillis() + "ms";
  }

  /** Runs a builder call whose IllegalArgumentException should name {@code key}. */
  private static void guard(String key, String value, Runnable call) {
    try {
      call.run();
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, value, e.getMessage(), e);
    }
  }

  private static void with(
      Map<String, String> p, String prefix, String setting, Consumer<String> apply) {
    String v = p.get(setting);
    if (v == null) {
      return;
    }
    try {
      apply.accept(v.trim());
    } catch (ConfigException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw new ConfigException(prefix + setting, v, e.getMessage(), e);
    }
  }
}
