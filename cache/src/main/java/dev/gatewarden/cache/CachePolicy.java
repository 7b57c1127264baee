package dev.gatewarden.cache;

import java.time.Duration;
import java.util.Objects;

/**
 * A route's stale-cache settings. The defaults are strict (see {@code docs/stale-cache.md}); every
 * relaxation is an explicit opt-in. Immutable and thread-safe; build with {@link #builder()}.
 *
 * <pre>{@code
 * CachePolicy policy = CachePolicy.builder().maxStale(Duration.ofMinutes(10)).build();
 * }</pre>
 */
public final class CachePolicy {
  /** The default stale window when a response has no {@code stale-if-error}: one hour. */
  public static final Duration DEFAULT_MAX_STALE = Duration.ofHours(1);

  private static final CachePolicy DEFAULTS = builder().build();

  private final boolean enabled;
  private final Duration maxStale;
  private final boolean ignoreRequestCookies;

  private CachePolicy(Builder b) {
    this.enabled = b.enabled;
    this.maxStale = b.maxStale;
    this.ignoreRequestCookies = b.ignoreRequestCookies;
  }

  /** The strict defaults: enabled, one hour, requests with cookies never stored. */
  public static CachePolicy defaults() {
    return DEFAULTS;
  }

  /** A builder starting from the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting from this policy's settings. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.enabled = enabled;
    b.maxStale = maxStale;
    b.ignoreRequestCookies = ignoreRequestCookies;
    return b;
  }

  /** Whether responses are stored and stale copies served at all. */
  public boolean enabled() {
    return enabled;
  }

  /**
   * How long after it was stored a copy may be served when the response has no {@code
   * stale-if-error}. A response's {@code must-revalidate}, {@code proxy-revalidate} or {@code
   * s-maxage} still caps it at the response's own freshness lifetime.
   */
  public Duration maxStale() {
    return maxStale;
  }

  /**
   * Whether a request's {@code Cookie} header is ignored when deciding to store. Off by default:
   * turn it on only for routes whose pages do not depend on cookies (e.g. only analytics cookies
   * are sent). Requests with a session or {@code Authorization} are never stored regardless.
   */
  public boolean ignoreRequestCookies() {
    return ignoreRequestCookies;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CachePolicy
        && ((CachePolicy) o).enabled == enabled
        && ((CachePolicy) o).maxStale.equals(maxStale)
        && ((CachePolicy) o).ignoreRequestCookies == ignoreRequestCookies;
  }

  @Override
  public int hashCode() {
    return Objects.hash(enabled, maxStale, ignoreRequestCookies);
  }

  @Override
  public String toString() {
    return "CachePolicy{enabled="
        + enabled
        + ", maxStale="
        + maxStale
        + ", ignoreRequestCookies="
        + ignoreRequestCookies
        + '}';
  }

  /** Builds a {@link CachePolicy}. Not thread-safe; {@link #build()} copies. */
  public static final class Builder {
    private boolean enabled = true;
    private Duration maxStale = DEFAULT_MAX_STALE;
    private boolean ignoreRequestCookies;

    private Builder() {}

    /** Turns stale copies on or off for the route. */
    public Builder enabled(boolean enabled) {
      this.enabled = enabled;
      return this;
    }

    /**
     * Sets the stale window used when a response has no {@code stale-if-error}.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder maxStale(Duration maxStale) {
      Objects.requireNonNull(maxStale, "maxStale");
      if (maxStale.isNegative()) {
        throw new IllegalArgumentException("maxStale cannot be negative: " + maxStale);
      }
      this.maxStale = maxStale;
      return this;
    }

    /**
     * Opts in to storing responses to requests that carry cookies (see {@link
     * #ignoreRequestCookies()}).
     */
    public Builder ignoreRequestCookies(boolean ignore) {
      this.ignoreRequestCookies = ignore;
      return this;
    }

    /** Returns the immutable policy. */
    public CachePolicy build() {
      return new CachePolicy(this);
    }
  }
}
