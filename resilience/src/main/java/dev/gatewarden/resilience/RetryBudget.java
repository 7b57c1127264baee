package dev.gatewarden.resilience;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongSupplier;

/**
 * Bounds retries to a share of recent requests, as Finagle's and Envoy's retry budgets do, so that
 * a total outage multiplies the engine's attempts by about {@code 1 + ratio} instead of {@code
 * maxAttempts}, plus what the reserve of {@code minPerSecond} allows (at {@code r} calls a second,
 * {@code 1 + min(maxAttempts - 1, ratio + minPerSecond / r)}). Requests and retries are counted in
 * ten one-second buckets; a retry is allowed while {@code retries + 1 <= ratio × requests +
 * minPerSecond × 10} over the window. Resilience4j has no such budget, hence this class.
 * Thread-safe; lock-free and approximate under races (a few retries may pass the bound while many
 * threads race at its edge).
 */
final class RetryBudget {
  private static final int BUCKETS = 10;
  private static final long BUCKET_NANOS = 1_000_000_000L;

  private final double ratio;
  private final long reserve;
  private final LongSupplier nanoTime;
  private final AtomicLongArray epochs = new AtomicLongArray(BUCKETS);
  private final AtomicLongArray requests = new AtomicLongArray(BUCKETS);
  private final AtomicLongArray retries = new AtomicLongArray(BUCKETS);

  RetryBudget(double ratio, int minPerSecond, LongSupplier nanoTime) {
    this.ratio = ratio;
    this.reserve = (long) minPerSecond * BUCKETS;
    this.nanoTime = nanoTime;
  }

  /** Counts a request made at {@code now}, a reading of the budget's clock just taken. */
  void recordRequest(long now) {
    requests.incrementAndGet(bucket(now));
  }

  /** Takes one retry from the budget if there is one. */
  boolean tryRetry() {
    int b = bucket(nanoTime.getAsLong());
    long epoch = epochs.get(b);
    long req = 0;
    long ret = 0;
    for (int i = 0; i < BUCKETS; i++) {
      if (epoch - epochs.get(i) < BUCKETS) {
        req += requests.get(i);
        ret += retries.get(i);
      }
    }
    if (ret + 1 > ratio * req + reserve) {
      return false;
    }
    retries.incrementAndGet(b);
    return true;
  }

  private int bucket(long now) {
    long epoch = now / BUCKET_NANOS;
    int b = Math.floorMod(epoch, BUCKETS);
    long seen = epochs.get(b);
    if (seen != epoch && epochs.compareAndSet(b, seen, epoch)) {
      requests.set(b, 0);
      retries.set(b, 0);
    }
    return b;
  }
}
