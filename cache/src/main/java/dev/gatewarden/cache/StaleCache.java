package dev.gatewarden.cache;

import com.github.benmanes.caffeine.cache.Ticker;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The stale-response store: keeps complete, shareable responses so that they can be served when the
 * live path fails, and answers "may I serve this copy now, for this request?".
 *
 * <p>Design: Caffeine holds one entry per URI (host, path and query), whose value is the small set
 * of {@code Vary} variants stored for it. Keying on the URI makes invalidation by an unsafe method
 * one removal, and keeps variants of one page together for the byte weigher. Entries expire by
 * themselves at the end of their stale window (a Caffeine {@code Expiry}), and the whole store is
 * bounded in bytes. Cacheability follows the strict rules in {@code docs/stale-cache.md}.
 *
 * <p>Thread-safe. Build with {@link #builder()}:
 *
 * <pre>{@code
 * StaleCache cache = StaleCache.builder().maximumBytes(64L << 20).build();
 * StoreDecision d = cache.store(request, 200, headers, body, 0, body.length, CachePolicy.defaults());
 * Optional<StaleCopy> copy = cache.lookup(request, CachePolicy.defaults());
 * }</pre>
 */
public final class StaleCache {
  /** The default bound on the whole store: 64 MiB. */
  public static final long DEFAULT_MAXIMUM_BYTES = 64L << 20;

  /** The default bound on one stored body: 1 MiB. */
  public static final long DEFAULT_MAXIMUM_ENTRY_BYTES = 1L << 20;

  private StaleCache(Builder builder) {
    throw new UnsupportedOperationException("TODO");
  }

  /** A builder with the defaults: 64 MiB in all, 1 MiB per entry, the system ticker. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Checks the request-side rules only (method, credentials, session, URI), so that callers can
   * skip collecting a response's headers and body when it could never be stored.
   *
   * @return {@link StoreDecision#STORED} if the request passes, else the rule that refuses it
   */
  public StoreDecision checkRequest(CacheRequest request, CachePolicy policy) {
    throw new UnsupportedOperationException("TODO");
  }

  /**
   * Stores a response if every rule allows it, replacing any older copy of the same variant. Copies
   * the headers and the body range; the caller may reuse its arrays afterwards.
   *
   * @param headers the response headers, by name (any case); values in order
   * @return what was decided; the store is unchanged unless {@link StoreDecision#STORED}
   */
  public StoreDecision store(
      CacheRequest request,
      int status,
      Map<String, List<String>> headers,
      byte[] body,
      int offset,
      int length,
      CachePolicy policy) {
    throw new UnsupportedOperationException("TODO");
  }

  /**
   * Finds a copy that may be served now for this request after a failure: same host, path, query
   * and {@code Vary} values, within its stale window, and the policy enabled. A HEAD request is
   * answered from the GET copy. Only GET and HEAD requests ever find one.
   */
  public Optional<StaleCopy> lookup(CacheRequest request, CachePolicy policy) {
    throw new UnsupportedOperationException("TODO");
  }

  /**
   * Removes every stored variant of the request's URI (called after a successful unsafe method).
   */
  public void invalidate(CacheRequest request) {
    throw new UnsupportedOperationException("TODO");
  }

  /** The number of URIs with stored copies (approximate, as Caffeine's estimate). */
  public long estimatedSize() {
    throw new UnsupportedOperationException("TODO");
  }

  /** The bytes currently held, by the store's weigher. */
  public long weightedSize() {
    throw new UnsupportedOperationException("TODO");
  }

  /**
   * Registers Caffeine's own Micrometer meters ({@code cache.gets}, {@code cache.size}, {@code
   * cache.evictions}, …) for this store under the tag {@code cache=name}. Requires micrometer-core
   * on the class path (an optional dependency of this module; every other Gatewarden module brings
   * it).
   */
  public void bindTo(MeterRegistry registry, String name) {
    throw new UnsupportedOperationException("TODO");
  }

  /** Builds a {@link StaleCache}. Not thread-safe. */
  public static final class Builder {
    long maximumBytes = DEFAULT_MAXIMUM_BYTES;
    long maximumEntryBytes = DEFAULT_MAXIMUM_ENTRY_BYTES;
    Ticker ticker = Ticker.systemTicker();

    private Builder() {}

    /**
     * Bounds the whole store in bytes (bodies and headers).
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder maximumBytes(long maximumBytes) {
      if (maximumBytes <= 0) {
        throw new IllegalArgumentException("maximumBytes must be positive: " + maximumBytes);
      }
      this.maximumBytes = maximumBytes;
      return this;
    }

    /**
     * Bounds one stored body in bytes; larger responses are not stored.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder maximumEntryBytes(long maximumEntryBytes) {
      if (maximumEntryBytes <= 0) {
        throw new IllegalArgumentException(
            "maximumEntryBytes must be positive: " + maximumEntryBytes);
      }
      this.maximumEntryBytes = maximumEntryBytes;
      return this;
    }

    /** Sets the time source (tests use a fake ticker). */
    public Builder ticker(Ticker ticker) {
      this.ticker = java.util.Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Returns a new store.
     *
     * @throws IllegalArgumentException if the per-entry bound exceeds the whole store's
     */
    public StaleCache build() {
      if (maximumEntryBytes > maximumBytes) {
        throw new IllegalArgumentException(
            "maximumEntryBytes ("
                + maximumEntryBytes
                + ") cannot exceed maximumBytes ("
                + maximumBytes
                + ")");
      }
      return new StaleCache(this);
    }
  }
}
