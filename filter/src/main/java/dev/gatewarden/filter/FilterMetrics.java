package dev.gatewarden.filter;

import dev.gatewarden.resilience.FailureCause;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The {@code gatewarden.server.requests} timer, tagged {@code route}, {@code outcome} and {@code
 * cause} ({@code none} for successes). Timers are looked up once per (route, outcome, cause) and
 * kept in an array per route, so the request path does no string building. Thread-safe.
 */
final class FilterMetrics {
  static final String REQUESTS = "gatewarden.server.requests";

  private final MeterRegistry registry;
  private final ConcurrentHashMap<String, AtomicReferenceArray<Timer>> byRoute =
      new ConcurrentHashMap<>();
  private static final int CAUSES = FailureCause.values().length + 1;

  FilterMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  void record(String route, Outcome outcome, FailureCause cause, long nanos) {
    AtomicReferenceArray<Timer> timers =
        byRoute.computeIfAbsent(
            route, r -> new AtomicReferenceArray<>(Outcome.values().length * CAUSES));
    int i = outcome.ordinal() * CAUSES + (cause == null ? 0 : cause.ordinal() + 1);
    Timer t = timers.get(i);
    if (t == null) {
      t =
          Timer.builder(REQUESTS)
              .description("Requests through GatewardenFilter, by route, outcome and failure cause")
              .tag("route", route)
              .tag("outcome", outcome.tag())
              .tag("cause", cause == null ? "none" : cause.tag())
              .register(registry);
      timers.set(i, t); // register() returns the same timer to every thread that races here
    }
    t.record(nanos, TimeUnit.NANOSECONDS);
  }
}
