package dev.gatewarden.cache;

/**
 * A stored response that {@link StaleCache#lookup} allows to be served now, after a failure, with
 * the figures needed to mark it as such. Immutable and thread-safe.
 */
public final class StaleCopy {
  private final CachedResponse response;
  private final long ageSeconds;
  private final long ttlSeconds;

  StaleCopy(CachedResponse response, long ageSeconds, long ttlSeconds) {
    this.response = response;
    this.ageSeconds = ageSeconds;
    this.ttlSeconds = ttlSeconds;
  }

  /** The stored response. */
  public CachedResponse response() {
    return response;
  }

  /** Seconds since the copy was stored: the value of the {@code Age} header to send. */
  public long ageSeconds() {
    return ageSeconds;
  }

  /**
   * The copy's remaining freshness lifetime in seconds (RFC 9211 {@code ttl}): negative once it is
   * stale, which is the usual case for a copy served after a failure.
   */
  public long ttlSeconds() {
    return ttlSeconds;
  }

  /**
   * The RFC 9211 {@code Cache-Status} value to send with the copy, e.g. {@code Gatewarden;
   * fwd=request; fwd-status=503; ttl=-120; detail=stale-if-error}.
   *
   * @param cacheName the cache's name in the header, e.g. {@code "Gatewarden"} (an RFC 8941 token)
   * @param forwardedStatus the status the live path answered, or 0 when it answered none (an
   *     exception, a timeout)
   */
  public String cacheStatus(String cacheName, int forwardedStatus) {
    StringBuilder sb = new StringBuilder(80).append(cacheName).append("; fwd=request");
    if (forwardedStatus > 0) {
      sb.append("; fwd-status=").append(forwardedStatus);
    }
    return sb.append("; ttl=").append(ttlSeconds).append("; detail=stale-if-error").toString();
  }
}
