package dev.gatewarden.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UpstreamKeysTest {
  @Test
  void readsUpstreamsFromFlatKeys() {
    Map<String, UpstreamPolicy> p =
        UpstreamPolicy.fromProperties(
            Map.of(
                "gatewarden.upstream.inventory.attempt-timeout", "800ms",
                "upstream.inventory.total-timeout", "3s",
                "upstream.inventory.max-attempts", "2",
                "upstream.inventory.retry-budget.ratio", "0.1",
                "upstream.payments.retry-with-idempotency-key", "true",
                "cache.max-stale", "10m"));
    assertThat(p).containsOnlyKeys("inventory", "payments");
    UpstreamPolicy inv = p.get("inventory");
    assertThat(inv.attemptTimeout()).isEqualTo(Duration.ofMillis(800));
    assertThat(inv.totalTimeout()).isEqualTo(Duration.ofSeconds(3));
    assertThat(inv.maxAttempts()).isEqualTo(2);
    assertThat(inv.retryBudgetRatio()).isEqualTo(0.1);
    assertThat(p.get("payments").retryWithIdempotencyKey).isTrue();
    assertThat(
            UpstreamPolicy.fromProperties(Map.of("upstream.x.minimum-attempt-time", "50ms"))
                .get("x")
                .minimumAttemptTime)
        .isEqualTo(Duration.ofMillis(50));
  }

  @Test
  void badValuesAndUnknownKeysNameKeyValueAndWhatIsAllowed() {
    assertThatThrownBy(
            () -> UpstreamPolicy.fromProperties(Map.of("upstream.inv.attempt-timeout", "soon")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("upstream.inv.attempt-timeout")
        .hasMessageContaining("\"soon\"")
        .hasMessageContaining("250ms");
    assertThatThrownBy(() -> UpstreamPolicy.fromProperties(Map.of("upstream.inv.retries", "3")))
        .hasMessageContaining("upstream.inv.retries")
        .hasMessageContaining("max-attempts");
    assertThatThrownBy(
            () ->
                UpstreamPolicy.fromProperties(
                    Map.of(
                        "upstream.inv.attempt-timeout", "20s", "upstream.inv.total-timeout", "5s")))
        .hasMessageContaining("cannot exceed totalTimeout");
    assertThatThrownBy(
            () -> UpstreamPolicy.fromProperties(Map.of("upstream.inv.total-timeout", "1s")))
        .as("the key that was set, against the other's default")
        .hasMessageContaining("upstream.inv.total-timeout")
        .hasMessageContaining("\"1s\"")
        .hasMessageContaining("at least upstream.inv.attempt-timeout (default 2s)");
    assertThatThrownBy(
            () -> UpstreamPolicy.fromProperties(Map.of("upstream.inv.attempt-timeout", "11s")))
        .hasMessageContaining("upstream.inv.attempt-timeout")
        .hasMessageContaining("\"11s\"")
        .hasMessageContaining("at most upstream.inv.total-timeout (default 10s)");
    assertThatThrownBy(
            () ->
                UpstreamPolicy.fromProperties(
                    Map.of(
                        "upstream.inv.minimum-attempt-time", "10s",
                        "upstream.inv.total-timeout", "10s")))
        .as("no call would ever be sent")
        .hasMessageContaining("upstream.inv.minimum-attempt-time")
        .hasMessageContaining("\"10s\"")
        .hasMessageContaining("less than upstream.inv.total-timeout");
    assertThatThrownBy(
            () ->
                UpstreamPolicy.fromProperties(
                    Map.of(
                        "upstream.inv.attempt-timeout", "5ms",
                        "upstream.inv.total-timeout", "10ms")))
        .as("the key that was set, against the other's default")
        .hasMessageContaining("upstream.inv.total-timeout = \"10ms\"")
        .hasMessageContaining("greater than upstream.inv.minimum-attempt-time (default 10ms)");
    assertThatThrownBy(
            () -> UpstreamPolicy.fromProperties(Map.of("upstream.inv.minimum-attempt-time", "0s")))
        .hasMessageContaining("upstream.inv.minimum-attempt-time")
        .hasMessageContaining("\"0s\"");
    assertThatThrownBy(
            () -> UpstreamPolicy.fromProperties(Map.of("upstream.inv.retry-budget.ratio", "lots")))
        .hasMessageContaining("upstream.inv.retry-budget.ratio")
        .hasMessageContaining("0 to 1");
  }
}
