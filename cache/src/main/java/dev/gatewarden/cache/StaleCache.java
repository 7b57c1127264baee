package dev.gatewarden.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.cache.CaffeineCacheMetrics;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

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

  private static final int MAX_VARIANTS = 16;
  private static final Set<String> NOT_STORED =
      Set.of(
          "connection",
          "keep-alive",
          "transfer-encoding",
          "te",
          "trailer",
          "upgrade",
          "proxy-authenticate",
          "proxy-authorization",
          "age");

  private final Cache<UriKey, Variants> cache;
  private final Ticker ticker;
  private final long maximumEntryBytes;

  private StaleCache(Builder builder) {
    this.ticker = builder.ticker;
    this.maximumEntryBytes = builder.maximumEntryBytes;
    this.cache =
        Caffeine.newBuilder()
            .ticker(builder.ticker)
            .maximumWeight(builder.maximumBytes)
            .weigher((UriKey k, Variants v) -> v.weight(k))
            .expireAfter(new WindowExpiry())
            .recordStats()
            .build();
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
    return Cacheability.checkRequest(request, policy, false);
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
    Objects.checkFromIndexSize(offset, length, body.length);
    StoreDecision d = checkRequest(request, policy);
    if (!d.stored()) {
      return d;
    }
    Map<String, List<String>> copied = copyHeaders(headers);
    CacheControl cc = CacheControl.parse(copied.get("Cache-Control"));
    d = Cacheability.checkResponse(status, copied, cc);
    if (!d.stored()) {
      return d;
    }
    if (length > maximumEntryBytes) {
      return StoreDecision.TOO_LARGE;
    }
    long freshness = cc.freshnessSeconds();
    long windowSeconds;
    if (cc.forbidsStale()) {
      windowSeconds = freshness;
    } else if (cc.staleIfError != CacheControl.ABSENT) {
      windowSeconds = freshness + cc.staleIfError;
    } else {
      windowSeconds = policy.maxStale().toSeconds();
    }
    List<String> varyNames = Cacheability.varyNames(copied.get("Vary"));
    CachedResponse response =
        new CachedResponse(
            status, copied, Arrays.copyOfRange(body, offset, offset + length), ticker.read());
    Variant variant =
        new Variant(
            varyNames,
            Cacheability.varyValues(request, varyNames),
            response,
            freshness,
            TimeUnit.SECONDS.toNanos(Math.min(windowSeconds, Integer.MAX_VALUE)));
    cache.asMap().compute(key(request), (k, old) -> Variants.with(old, variant, MAX_VARIANTS));
    return StoreDecision.STORED;
  }

  /**
   * Finds a copy that may be served now for this request after a failure: same host, path, query
   * and {@code Vary} values, within its stale window, and the policy enabled. A HEAD request is
   * answered from the GET copy. Only requests that would themselves be allowed to store (GET or
   * HEAD, no credentials, no session, a safe URI) ever find one, so an anonymous copy never reaches
   * a signed-in user.
   */
  public Optional<StaleCopy> lookup(CacheRequest request, CachePolicy policy) {
    if (!Cacheability.checkRequest(request, policy, true).stored()) {
      return Optional.empty();
    }
    Variants variants = cache.getIfPresent(key(request));
    if (variants == null) {
      return Optional.empty();
    }
    long now = ticker.read();
    for (Variant v : variants.list) {
      if (!v.varyValues.equals(Cacheability.varyValues(request, v.varyNames))) {
        continue;
      }
      long ageNanos = now - v.response.storedAtNanos();
      if (ageNanos < 0 || ageNanos >= v.windowNanos) {
        return Optional.empty();
      }
      long age = TimeUnit.NANOSECONDS.toSeconds(ageNanos);
      return Optional.of(new StaleCopy(v.response, age, v.freshnessSeconds - age));
    }
    return Optional.empty();
  }

  /**
   * Removes every stored variant of the request's URI (called after a successful unsafe method).
   */
  public void invalidate(CacheRequest request) {
    cache.invalidate(key(request));
  }

  /** The number of URIs with stored copies (approximate, as Caffeine's estimate). */
  public long estimatedSize() {
    return cache.estimatedSize();
  }

  /** The bytes currently held, by the store's weigher. */
  public long weightedSize() {
    cache.cleanUp();
    return cache.policy().eviction().map(e -> e.weightedSize().orElse(0L)).orElse(0L);
  }

  /**
   * Registers Caffeine's own Micrometer meters ({@code cache.gets}, {@code cache.size}, {@code
   * cache.evictions}, …) for this store under the tag {@code cache=name}. Requires micrometer-core
   * on the class path (an optional dependency of this module; every other Gatewarden module brings
   * it).
   */
  public void bindTo(MeterRegistry registry, String name) {
    CaffeineCacheMetrics.monitor(registry, cache, name);
  }

  private static UriKey key(CacheRequest request) {
    return new UriKey(request.host().toLowerCase(Locale.ROOT), request.path(), request.query());
  }

  private static Map<String, List<String>> copyHeaders(Map<String, List<String>> headers) {
    Map<String, List<String>> out = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    for (Map.Entry<String, List<String>> e : headers.entrySet()) {
      String name = e.getKey();
      if (name == null
          || e.getValue() == null
          || NOT_STORED.contains(name.toLowerCase(Locale.ROOT))) {
        continue;
      }
      List<String> values = new ArrayList<>(out.getOrDefault(name, List.of()));
      for (String v : e.getValue()) {
        if (v != null) {
          values.add(v);
        }
      }
      out.put(name, List.copyOf(values));
    }
    return Collections.unmodifiableMap(out);
  }

  /** host + path + query: one Caffeine entry per URI. */
  private static final class UriKey {
    final String host;
    final String path;
    final String query;

    UriKey(String host, String path, String query) {
      this.host = host;
      this.path = path;
      this.query = query;
    }

    @Override
    public boolean equals(Object o) {
      if (!(o instanceof UriKey)) {
        return false;
      }
      UriKey k = (UriKey) o;
      return host.equals(k.host) && path.equals(k.path) && Objects.equals(query, k.query);
    }

    @Override
    public int hashCode() {
      return (host.hashCode() * 31 + path.hashCode()) * 31 + Objects.hashCode(query);
    }

    int weight() {
      return 64 + 2 * (host.length() + path.length() + (query == null ? 0 : query.length()));
    }
  }

  /** One stored response for one set of Vary values. Immutable. */
  private static final class Variant {
    final List<String> varyNames;
    final List<String> varyValues;
    final CachedResponse response;
    final long freshnessSeconds;
    final long windowNanos;

    Variant(
        List<String> varyNames,
        List<String> varyValues,
        CachedResponse response,
        long freshnessSeconds,
        long windowNanos) {
      this.varyNames = varyNames;
      this.varyValues = varyValues;
      this.response = response;
      this.freshnessSeconds = freshnessSeconds;
      this.windowNanos = windowNanos;
    }

    long expiresAtNanos() {
      return response.storedAtNanos() + windowNanos;
    }

    long weight() {
      long w = 128L + response.bodyLength();
      for (Map.Entry<String, List<String>> h : response.headers().entrySet()) {
        w += 32 + 2L * h.getKey().length();
        for (String v : h.getValue()) {
          w += 2L * v.length();
        }
      }
      for (String v : varyValues) {
        w += v == null ? 8 : 2L * v.length();
      }
      return w;
    }
  }

  /** The variants stored for one URI, newest last. Immutable; replaced as a whole on update. */
  private static final class Variants {
    final List<Variant> list;

    private Variants(List<Variant> list) {
      this.list = list;
    }

    static Variants with(Variants old, Variant added, int max) {
      List<Variant> out = new ArrayList<>();
      if (old != null) {
        for (Variant v : old.list) {
          if (!(v.varyNames.equals(added.varyNames) && v.varyValues.equals(added.varyValues))) {
            out.add(v);
          }
        }
      }
      out.add(added);
      while (out.size() > max) {
        out.remove(0);
      }
      return new Variants(List.copyOf(out));
    }

    int weight(UriKey key) {
      long w = key.weight();
      for (Variant v : list) {
        w += v.weight();
      }
      return (int) Math.min(w, Integer.MAX_VALUE);
    }

    long expiresAtNanos() {
      long max = Long.MIN_VALUE;
      for (Variant v : list) {
        max = Math.max(max, v.expiresAtNanos());
      }
      return max;
    }
  }

  /** Each URI expires by itself when its longest stale window ends. */
  private static final class WindowExpiry implements Expiry<UriKey, Variants> {
    @Override
    public long expireAfterCreate(UriKey key, Variants value, long currentTime) {
      return Math.max(0, value.expiresAtNanos() - currentTime);
    }

    @Override
    public long expireAfterUpdate(
        UriKey key, Variants value, long currentTime, long currentDuration) {
      return Math.max(0, value.expiresAtNanos() - currentTime);
    }

    @Override
    public long expireAfterRead(
        UriKey key, Variants value, long currentTime, long currentDuration) {
      return currentDuration;
    }
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
      this.ticker = Objects.requireNonNull(ticker, "ticker");
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
