package dev.gatewarden.resilience;

import dev.gatewarden.cache.CachePolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * How calls to one upstream are protected: timeouts, retries and their budget, the circuit breaker,
 * the bulkhead, validation and stale copies. The defaults follow RFC 9110 and what large
 * deployments settled on (see {@code docs/clients.md}). Immutable and thread-safe; build with
 * {@link #builder(String)}.
 *
 * <pre>{@code
 * UpstreamPolicy inventory = UpstreamPolicy.builder("inventory")
 *     .attemptTimeout(Duration.ofMillis(800))
 *     .totalTimeout(Duration.ofSeconds(3))
 *     .build();
 * }</pre>
 */
public final class UpstreamPolicy {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

  final String name;
  final Duration attemptTimeout;
  final Duration totalTimeout;
  final int maxAttempts;
  final Duration backoffInitial;
  final Duration backoffMax;
  final Set<Integer> retryStatuses;
  final boolean retryNonIdempotent;
  final boolean retryWithIdempotencyKey;
  final Duration retryAfterCap;
  final double retryBudgetRatio;
  final int retryBudgetMinPerSecond;
  final float breakerFailureRate;
  final int breakerWindow;
  final int breakerMinimumCalls;
  final Duration breakerOpenFor;
  final int bulkheadMaxConcurrent;
  final CachePolicy stale;
  final List<ResponseValidator> validators;
  final Duration minimumAttemptTime;

  private UpstreamPolicy(Builder b) {
    this.name = b.name;
    this.attemptTimeout = b.attemptTimeout;
    this.totalTimeout = b.totalTimeout;
    this.maxAttempts = b.maxAttempts;
    this.backoffInitial = b.backoffInitial;
    this.backoffMax = b.backoffMax;
    this.retryStatuses = Set.copyOf(b.retryStatuses);
    this.retryNonIdempotent = b.retryNonIdempotent;
    this.retryWithIdempotencyKey = b.retryWithIdempotencyKey;
    this.retryAfterCap = b.retryAfterCap;
    this.retryBudgetRatio = b.retryBudgetRatio;
    this.retryBudgetMinPerSecond = b.retryBudgetMinPerSecond;
    this.breakerFailureRate = b.breakerFailureRate;
    this.breakerWindow = b.breakerWindow;
    this.breakerMinimumCalls = b.breakerMinimumCalls;
    this.breakerOpenFor = b.breakerOpenFor;
    this.bulkheadMaxConcurrent = b.bulkheadMaxConcurrent;
    this.stale = b.stale;
    this.validators = List.copyOf(b.validators);
    this.minimumAttemptTime = b.minimumAttemptTime;
  }

  /**
   * Reads every upstream configured with flat keys {@code upstream.<name>.<setting>} (e.g. {@code
   * upstream.inventory.attempt-timeout=800ms}; keys may carry a {@code gatewarden.} prefix; other
   * keys are ignored). The settings are listed in {@code docs/clients.md}.
   *
   * @return the policies by upstream name, in the order first seen
   * @throws ConfigException naming the key, the value and what is allowed
   */
  public static java.util.Map<String, UpstreamPolicy> fromProperties(
      java.util.Map<String, String> properties) {
    return UpstreamKeys.read(properties);
  }

  /** A builder with the defaults, for the upstream with this name (its metrics tag). */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  public String name() {
    return name;
  }

  public Duration attemptTimeout() {
    return attemptTimeout;
  }

  public Duration totalTimeout() {
    return totalTimeout;
  }

  public int maxAttempts() {
    return maxAttempts;
  }

  public double retryBudgetRatio() {
    return retryBudgetRatio;
  }

  @Override
  public String toString() {
    return "UpstreamPolicy{"
        + name
        + ", attemptTimeout="
        + attemptTimeout
        + ", totalTimeout="
        + totalTimeout
        + ", maxAttempts="
        + maxAttempts
        + ", backoff="
        + backoffInitial
        + ".."
        + backoffMax
        + ", retryStatuses="
        + retryStatuses
        + ", retryBudget="
        + retryBudgetRatio
        + "+"
        + retryBudgetMinPerSecond
        + "/s, breaker="
        + breakerFailureRate
        + "% of "
        + breakerWindow
        + ", bulkhead="
        + bulkheadMaxConcurrent
        + ", stale="
        + stale.enabled()
        + '}';
  }

  /** Builds an {@link UpstreamPolicy}. Not thread-safe; {@link #build()} copies and validates. */
  public static final class Builder {
    private final String name;
    private Duration attemptTimeout = Duration.ofSeconds(2);
    private Duration totalTimeout = Duration.ofSeconds(10);
    private int maxAttempts = 3;
    private Duration backoffInitial = Duration.ofMillis(50);
    private Duration backoffMax = Duration.ofSeconds(1);
    private Set<Integer> retryStatuses = Set.of(429, 502, 503, 504);
    private boolean retryNonIdempotent;
    private boolean retryWithIdempotencyKey;
    private Duration retryAfterCap = Duration.ofSeconds(5);
    private double retryBudgetRatio = 0.2;
    private int retryBudgetMinPerSecond = 5;
    private float breakerFailureRate = 50;
    private int breakerWindow = 50;
    private int breakerMinimumCalls = 20;
    private Duration breakerOpenFor = Duration.ofSeconds(10);
    private int bulkheadMaxConcurrent = 100;
    private CachePolicy stale = CachePolicy.defaults();
    private final List<ResponseValidator> validators = new ArrayList<>();
    private Duration minimumAttemptTime = Duration.ofMillis(10);

    private Builder(String name) {
      if (name == null || !NAME.matcher(name).matches()) {
        throw new IllegalArgumentException(
            "upstream name \""
                + name
                + "\" is not allowed: use 1 to 64 letters, digits, '.', '-' or '_'");
      }
      this.name = name;
    }

    /** Time allowed for one attempt, connect to last body byte (default 2 s). */
    public Builder attemptTimeout(Duration d) {
      this.attemptTimeout = positive("attemptTimeout", d);
      return this;
    }

    /**
     * Time allowed for the whole call with retries (default 10 s); also capped by the current
     * {@link Deadline}.
     */
    public Builder totalTimeout(Duration d) {
      this.totalTimeout = positive("totalTimeout", d);
      return this;
    }

    /** Attempts in all, the first included (default 3; 1 disables retries). */
    public Builder maxAttempts(int n) {
      if (n < 1 || n > 10) {
        throw new IllegalArgumentException("maxAttempts " + n + " is not allowed: use 1 to 10");
      }
      this.maxAttempts = n;
      return this;
    }

    /**
     * Exponential backoff with full jitter between {@code initial} and {@code max} (defaults 50 ms,
     * 1 s).
     */
    public Builder backoff(Duration initial, Duration max) {
      this.backoffInitial = positive("backoff initial", initial);
      this.backoffMax = positive("backoff max", max);
      if (max.compareTo(initial) < 0) {
        throw new IllegalArgumentException(
            "backoff max " + max + " cannot be less than initial " + initial);
      }
      return this;
    }

    /** Statuses that are retried (default 429, 502, 503, 504). */
    public Builder retryStatuses(Set<Integer> statuses) {
      for (Integer s : statuses) {
        if (s == null || s < 400 || s > 599) {
          throw new IllegalArgumentException(
              "retry status " + s + " is not allowed: use 400 to 599");
        }
      }
      this.retryStatuses = Set.copyOf(statuses);
      return this;
    }

    /**
     * Opts in to retrying non-idempotent methods such as POST (default false: they are sent once).
     */
    public Builder retryNonIdempotent(boolean retry) {
      this.retryNonIdempotent = retry;
      return this;
    }

    /**
     * Opts in to retrying a non-idempotent request that carries an {@code Idempotency-Key} header.
     */
    public Builder retryWithIdempotencyKey(boolean retry) {
      this.retryWithIdempotencyKey = retry;
      return this;
    }

    /** The longest {@code Retry-After} honoured (default 5 s); longer ones end the call instead. */
    public Builder retryAfterCap(Duration d) {
      this.retryAfterCap = positive("retryAfterCap", d);
      return this;
    }

    /**
     * Bounds retries to {@code ratio} of requests over the last 10 seconds, plus {@code
     * minPerSecond} (defaults 0.2 and 5), so a total outage at {@code r} calls a second multiplies
     * the engine's attempts by about {@code 1 + min(maxAttempts - 1, ratio + minPerSecond / r)}:
     * near {@code 1 + ratio} for busy upstreams; {@code minPerSecond} 0 makes it {@code 1 + ratio}
     * at any rate.
     */
    public Builder retryBudget(double ratio, int minPerSecond) {
      if (!(ratio >= 0 && ratio <= 1)) {
        throw new IllegalArgumentException(
            "retry budget ratio " + ratio + " is not allowed: use 0 to 1");
      }
      if (minPerSecond < 0 || minPerSecond > 10_000) {
        throw new IllegalArgumentException(
            "retry budget minimum " + minPerSecond + " per second is not allowed: use 0 to 10000");
      }
      this.retryBudgetRatio = ratio;
      this.retryBudgetMinPerSecond = minPerSecond;
      return this;
    }

    /**
     * The circuit breaker: opens when at least {@code failureRatePercent} of the last {@code
     * window} calls failed (once {@code minimumCalls} were seen), and stays open for {@code
     * openFor} (defaults 50 %, 50, 20, 10 s).
     */
    public Builder circuitBreaker(
        float failureRatePercent, int window, int minimumCalls, Duration openFor) {
      if (!(failureRatePercent > 0 && failureRatePercent <= 100)) {
        throw new IllegalArgumentException(
            "breaker failure rate " + failureRatePercent + " is not allowed: use (0, 100]");
      }
      if (window < 1 || minimumCalls < 1) {
        throw new IllegalArgumentException("breaker window and minimum calls must be at least 1");
      }
      this.breakerFailureRate = failureRatePercent;
      this.breakerWindow = window;
      this.breakerMinimumCalls = minimumCalls;
      this.breakerOpenFor = positive("breaker openFor", openFor);
      return this;
    }

    /** Calls in flight at once (default 100); more are rejected at once with cause OVERLOAD. */
    public Builder bulkhead(int maxConcurrent) {
      if (maxConcurrent < 1) {
        throw new IllegalArgumentException(
            "bulkhead " + maxConcurrent + " is not allowed: use at least 1");
      }
      this.bulkheadMaxConcurrent = maxConcurrent;
      return this;
    }

    /** Stale copies of GET responses (default: on, with the cache module's strict rules). */
    public Builder stale(CachePolicy policy) {
      this.stale = Objects.requireNonNull(policy, "stale");
      return this;
    }

    /** Adds a response validator. */
    public Builder validator(ResponseValidator v) {
      validators.add(Objects.requireNonNull(v, "validator"));
      return this;
    }

    /** Below this much time left, calls fail fast without being sent (default 10 ms). */
    public Builder minimumAttemptTime(Duration d) {
      this.minimumAttemptTime = positive("minimumAttemptTime", d);
      return this;
    }

    /** Starts the message of the one check on {@code minimumAttemptTime} across settings. */
    static final String MINIMUM_ATTEMPT_TIME = "minimumAttemptTime";

    public UpstreamPolicy build() {
      if (attemptTimeout.compareTo(totalTimeout) > 0) {
        throw new IllegalArgumentException(
            "attemptTimeout " + attemptTimeout + " cannot exceed totalTimeout " + totalTimeout);
      }
      if (minimumAttemptTime.compareTo(totalTimeout) >= 0) {
        throw new IllegalArgumentException(
            MINIMUM_ATTEMPT_TIME
                + " "
                + minimumAttemptTime
                + " must be less than totalTimeout "
                + totalTimeout
                + ", or no call would ever be sent");
      }
      return new UpstreamPolicy(this);
    }

    private static Duration positive(String what, Duration d) {
      Objects.requireNonNull(d, what);
      if (d.isZero() || d.isNegative()) {
        throw new IllegalArgumentException(what + " must be positive: " + d);
      }
      return d;
    }
  }
}
