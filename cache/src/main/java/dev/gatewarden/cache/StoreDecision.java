package dev.gatewarden.cache;

/**
 * Whether a response was stored as a stale copy, and if not, the rule that refused it. Used in
 * debug logs and tests, so an operator can see why a page has no fallback copy.
 */
public enum StoreDecision {
  /** The response was stored (replacing any older copy of the same variant). */
  STORED,
  /**
   * A copy of the same variant was stored less than the store's refresh interval ago (default 5 s)
   * and was kept; only the request's rules were checked, the response was not examined.
   */
  RECENT_COPY_KEPT,
  /** Stale copies are disabled for this route. */
  DISABLED,
  /** Only GET responses are stored. */
  NOT_GET,
  /** Only complete 200 responses are stored. */
  NOT_200,
  /** The request carried {@code Authorization}. */
  AUTHORIZATION,
  /** The request carried {@code Cookie} (and the route did not opt in to ignoring it). */
  COOKIE,
  /** The request belongs to a server-side session. */
  SESSION,
  /** The user is known by other means: a container or proxy login, a TLS client certificate. */
  AUTHENTICATED,
  /** The URI has path parameters ({@code ;}), encoded separators or dot segments. */
  UNSAFE_URI,
  /** The response sets a cookie. */
  SET_COOKIE,
  /** {@code Cache-Control: private}. */
  PRIVATE,
  /** {@code Cache-Control: no-store}. */
  NO_STORE,
  /**
   * {@code Cache-Control: no-cache} (or {@code Pragma: no-cache} without {@code Cache-Control}).
   */
  NO_CACHE,
  /** {@code Vary: *}. */
  VARY_STAR,
  /** {@code Vary} names {@code Cookie} or {@code Authorization}: a per-user page. */
  VARY_ON_CREDENTIALS,
  /** The body is larger than the per-entry limit. */
  TOO_LARGE;

  /** Whether the response was stored. */
  public boolean stored() {
    return this == STORED;
  }
}
