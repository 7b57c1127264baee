package dev.gatewarden.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.cache.CaffeineCacheMetrics;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

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
 * <p>Serving is as strict as storing, and symmetric with it: a request that could not store a copy
 * ({@link #checkRequest} not {@link StoreDecision#STORED}) is never served one either, except that
 * HEAD is answered from the GET copy. So a request with {@code Authorization}, a {@code Cookie}
 * (unless the policy ignores cookies), a session or an unsafe URI never receives the anonymous
 * copy. A copy's stale window is decided when it is stored, from its own {@code Cache-Control} and
 * the policy then given; among the variants a request matches, the newest decides.
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

  /**
   * The default for {@link Builder#refreshInterval}: five seconds. Re-storing a busy copy runs code
   * too rare to be compiled, which cost about a millisecond per store on the benchmark host; once a
   * second that was a tenth of a microsecond on every outbound call. A stale copy is served only
   * after a failure, with its {@code Age}, so a few seconds more of it are worth that. The servlet
   * filter's store and every {@code Upstream}'s default store use it.
   */
  public static final java.time.Duration DEFAULT_REFRESH_INTERVAL = java.time.Duration.ofSeconds(5);

  /** At most this many {@code Vary} variants per URI; a new one pushes out the oldest. */
  static final int MAX_VARIANTS = 16;

  private final Cache<UriKey, Variants> cache;
  private final Ticker ticker;
  private final long maximumEntryBytes;
  private final long refreshNanos;

  /**
   * The copy stored last (if it has no {@code Vary}), so that {@link #hasRecentCopy}, asked for
   * every good response, answers without building a key or reading Caffeine while one address is
   * busy: that read was a measurable part of an outbound call. It only ever makes the store keep a
   * copy it already has (it is never read to serve one); it holds for the refresh interval or the
   * copy's stale window, whichever is shorter, and {@link #invalidate} forgets it. A copy that
   * Caffeine evicts for room within that interval is stored again only once it has passed.
   */
  private volatile LastStored lastStored;

  private StaleCache(Builder builder) {
    this.ticker = builder.ticker;
    this.maximumEntryBytes = builder.maximumEntryBytes;
    this.refreshNanos = builder.refreshInterval.toNanos();
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
   * Checks the response-side rules (status, {@code Set-Cookie}, {@code Cache-Control}, {@code
   * Pragma}, {@code Vary}) reading only those headers through {@code header}, so that callers can
   * skip collecting all headers and the body of a response that could never be stored.
   *
   * @param header the values of a response header by name (any case), {@code null} or empty when
   *     absent
   * @return {@link StoreDecision#STORED} if the response passes, else the rule that refuses it
   */
  public StoreDecision checkResponse(int status, Function<String, List<String>> header) {
    if (status != 200) {
      return StoreDecision.NOT_200;
    }
    return Cacheability.checkResponse(header, CacheControl.parse(header.apply("Cache-Control")));
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
    if (status != 200) {
      return StoreDecision.NOT_200;
    }
    if (hasRecentCopy(request)) {
      return StoreDecision.RECENT_COPY_KEPT; // first: it is the common case, and the cheapest
    }
    // The response rules read a few headers straight from the caller's map; the copy of every
    // header (and of the body) is made only for a response that will be stored.
    Function<String, List<String>> header = name -> HeaderMap.lookup(headers, name);
    CacheControl cc = CacheControl.parse(header.apply("Cache-Control"));
    d = Cacheability.checkResponse(header, cc);
    if (!d.stored()) {
      return d;
    }
    if (length > maximumEntryBytes) {
      return StoreDecision.TOO_LARGE;
    }
    HeaderMap all = HeaderMap.copyOf(headers);
    List<String> varyNames = Cacheability.varyNames(all.get("Vary"));
    CachedResponse response =
        new CachedResponse(
            status,
            Cacheability.storedHeaders(all),
            Arrays.copyOfRange(body, offset, offset + length),
            ticker.read());
    Variant variant =
        new Variant(
            varyNames,
            Cacheability.varyValues(request, varyNames),
            response,
            cc.freshnessSeconds(),
            Cacheability.windowNanos(cc, policy));
    LastStored stored =
        varyNames.isEmpty()
            ? new LastStored(key(request), response.storedAtNanos(), variant.windowNanos)
            : null;
    cache
        .asMap()
        .compute(
            key(request),
            (k, old) -> {
              lastStored = stored; // under the entry's lock, so ordered with invalidate's
              return Variants.with(old, variant, ticker.read());
            });
    return StoreDecision.STORED;
  }

  /**
   * Whether a copy for this request's variant was stored less than the refresh interval ago (or,
   * when its stale window is shorter, less than that window), so that {@link #store} would keep it:
   * callers may then skip collecting the response's headers and body. Under steady traffic most
   * good responses would replace a copy only just stored.
   */
  public boolean hasRecentCopy(CacheRequest request) {
    if (refreshNanos <= 0) {
      return false;
    }
    LastStored last = lastStored;
    if (last != null
        && last.key.isFor(request)
        && ticker.read() - last.atNanos < Math.min(refreshNanos, last.windowNanos)) {
      return true;
    }
    // A quiet read: not a lookup for serving, so it records no statistics and does not count as
    // an access for eviction (nor queue one, which would wake Caffeine's maintenance thread every
    // few calls on a busy page). A busy page is re-stored every refresh interval, which keeps it
    // frequent in Caffeine's eyes.
    Variants existing = cache.policy().getIfPresentQuietly(key(request));
    Variant recent = existing == null ? null : existing.newestMatching(request);
    return recent != null
        && ticker.read() - recent.response.storedAtNanos()
            < Math.min(refreshNanos, recent.windowNanos);
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
    Variant v = variants == null ? null : variants.newestMatching(request);
    if (v == null) {
      return Optional.empty();
    }
    long ageNanos = Math.max(0, ticker.read() - v.response.storedAtNanos());
    if (ageNanos >= v.windowNanos) {
      return Optional.empty();
    }
    long age = TimeUnit.NANOSECONDS.toSeconds(ageNanos);
    return Optional.of(new StaleCopy(v.response, age, v.freshnessSeconds - age));
  }

  /**
   * Removes every stored variant of the request's URI (called after a successful unsafe method).
   */
  public void invalidate(CacheRequest request) {
    cache
        .asMap()
        .compute(
            key(request),
            (k, old) -> {
              lastStored = null; // under the entry's lock: a racing store cannot bring it back
              return null;
            });
  }

  /** The number of URIs with stored copies (approximate, as Caffeine's estimate). */
  public long estimatedSize() {
    return cache.estimatedSize();
  }

  /** The bytes currently held, by the store's weigher. */
  public long weightedSize() {
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

  /** Runs Caffeine's pending maintenance (evictions, expirations) now. */
  void cleanUp() {
    cache.cleanUp();
  }

  private static UriKey key(CacheRequest request) {
    String host = request.host();
    return new UriKey(
        host == null ? "" : host.toLowerCase(Locale.ROOT), request.path(), request.query());
  }

  /** The key, time and stale window of the copy stored last. */
  private record LastStored(UriKey key, long atNanos, long windowNanos) {}

  /** One Caffeine entry per URI: the host (lower case), raw path and raw query. */
  private record UriKey(String host, String path, String query) {
    /** Whether this is the request's key, without building it. */
    boolean isFor(CacheRequest request) {
      return path.equals(request.path())
          && Objects.equals(query, request.query())
          && request.hasHost(host);
    }

    int weight() {
      return 64 + 2 * (host.length() + path.length() + (query == null ? 0 : query.length()));
    }
  }

  /** One stored response for one set of {@code Vary} values. Immutable. */
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

    boolean sameVariantAs(Variant other) {
      return varyNames.equals(other.varyNames) && varyValues.equals(other.varyValues);
    }

    /** Nanoseconds left in the stale window at {@code now}; 0 or less once it has ended. */
    long remainingNanos(long now) {
      return windowNanos - (now - response.storedAtNanos());
    }

    /** Body, header and vary-value bytes (chars counted twice), plus a fixed overhead. */
    long weight() {
      long w = 128L + response.bodyLength();
      for (Map.Entry<String, List<String>> h : response.headers().entrySet()) {
        w += 32 + 2L * h.getKey().length();
        for (String v : h.getValue()) {
          w += 16 + 2L * v.length();
        }
      }
      for (String v : varyValues) {
        w += v == null ? 8 : 16 + 2L * v.length();
      }
      return w;
    }
  }

  /**
   * The variants stored for one URI, newest last, at most {@link #MAX_VARIANTS}. Immutable;
   * replaced as a whole, inside {@code asMap().compute}, on every store.
   */
  private static final class Variants {
    final List<Variant> list;

    private Variants(List<Variant> list) {
      this.list = list;
    }

    /**
     * {@code old} with {@code added} as the newest, without the variant it replaces, without the
     * variants whose window has ended, and without the oldest beyond {@link #MAX_VARIANTS}.
     */
    static Variants with(Variants old, Variant added, long now) {
      List<Variant> out = new ArrayList<>();
      if (old != null) {
        for (Variant v : old.list) {
          if (!v.sameVariantAs(added) && v.remainingNanos(now) > 0) {
            out.add(v);
          }
        }
      }
      out.add(added);
      return new Variants(
          List.copyOf(out.subList(Math.max(0, out.size() - MAX_VARIANTS), out.size())));
    }

    /** The newest variant whose {@code Vary} values the request matches, or {@code null}. */
    Variant newestMatching(CacheRequest request) {
      List<String> names = null;
      List<String> values = null;
      for (int i = list.size() - 1; i >= 0; i--) {
        Variant v = list.get(i);
        if (!v.varyNames.equals(names)) {
          names = v.varyNames;
          values = Cacheability.varyValues(request, names);
        }
        if (v.varyValues.equals(values)) {
          return v;
        }
      }
      return null;
    }

    /** The entry's weight for Caffeine, capped at {@link Integer#MAX_VALUE}. */
    int weight(UriKey key) {
      long w = key.weight();
      for (Variant v : list) {
        w += v.weight();
      }
      return (int) Math.min(w, Integer.MAX_VALUE);
    }

    long remainingNanos(long now) {
      long max = 0;
      for (Variant v : list) {
        max = Math.max(max, v.remainingNanos(now));
      }
      return max;
    }
  }

  /** Each URI expires by itself when the longest stale window among its variants ends. */
  private static final class WindowExpiry implements Expiry<UriKey, Variants> {
    @Override
    public long expireAfterCreate(UriKey key, Variants value, long currentTime) {
      return value.remainingNanos(currentTime);
    }

    @Override
    public long expireAfterUpdate(
        UriKey key, Variants value, long currentTime, long currentDuration) {
      return value.remainingNanos(currentTime);
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
    java.time.Duration refreshInterval = DEFAULT_REFRESH_INTERVAL;

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

    /**
     * A stored copy younger than this is kept rather than replaced by the next good response for
     * the same variant (default 5 s; zero replaces on every response). A stale copy is then at most
     * this much older than the newest good response, and a busy page is copied once per interval
     * instead of on every request.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder refreshInterval(java.time.Duration interval) {
      if (interval.isNegative()) {
        throw new IllegalArgumentException("refreshInterval must not be negative: " + interval);
      }
      this.refreshInterval = interval;
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
