package dev.gatewarden.cache;

/**
 * What the stale cache needs to know about a request: enough to decide whether its response may be
 * stored, to build its key, and to pick a {@code Vary} variant. Adapters implement it over their
 * own request type (the filter over {@code HttpServletRequest}) without copying headers.
 *
 * <p>Implementations are used by one thread at a time and need not be thread-safe.
 */
public interface CacheRequest {
  /** The request method, upper case, e.g. {@code "GET"}. */
  String method();

  /**
   * The host part of the cache key: a configured canonical host or the server's own name, never a
   * raw {@code X-Forwarded-Host} or other client-controlled forwarding header.
   */
  String host();

  /**
   * Whether {@link #host()} is {@code key} (a key's host: lower case), ignoring case. The store
   * asks this on every good response; implementations may answer without building {@link #host()}.
   */
  default boolean hasHost(String key) {
    String host = host();
    return key.equalsIgnoreCase(host == null ? "" : host);
  }

  /** The path as received, still percent-encoded (the servlet request URI), never {@code null}. */
  String path();

  /** The raw query string without {@code '?'}, or {@code null} when there is none. */
  String query();

  /**
   * The request header's values joined by {@code ", "} in the order received, or {@code null} when
   * the header is absent. Names are case-insensitive.
   */
  String header(String name);

  /**
   * Whether the request belongs to a server-side session (an existing session, or a session id
   * sent).
   */
  boolean hasSession();

  /**
   * Whether the server knows who the user is by means other than the {@code Authorization} and
   * {@code Cookie} headers: a user authenticated by the container or a front proxy (a remote user
   * or principal, e.g. passed over AJP), or a TLS client certificate. Such responses are personal
   * and are never stored or served. The default, for adapters that cannot tell, is {@code false}.
   */
  default boolean hasAuthenticatedUser() {
    return false;
  }
}
