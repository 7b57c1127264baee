package dev.gatewarden.resilience;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * An outbound request in the engine's neutral model: method, URI, headers and a replayable body.
 * Adapters build it from their client's request type. Immutable and thread-safe when made with
 * {@code of}; an adapter's request over its client's own headers ({@code wrap}) is read by the
 * calling thread during one call.
 */
public final class ClientRequest {
  private static final Set<String> IDEMPOTENT =
      Set.of("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE");
  private static final byte[] NO_BODY = new byte[0];

  private final String method;
  private final Target target;
  private final Map<String, List<String>> headers;
  private final byte[] body;

  private ClientRequest(
      String method, Target target, Map<String, List<String>> headers, byte[] body) {
    this.method = method;
    this.target = target;
    this.headers = headers;
    this.body = body;
  }

  /**
   * A request. Copies the headers and body.
   *
   * @param body the full body, or {@code null} for none
   */
  public static ClientRequest of(
      String method, URI uri, Map<String, List<String>> headers, byte[] body) {
    Objects.requireNonNull(uri, "uri");
    Map<String, List<String>> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    headers.forEach((k, v) -> h.put(k, List.copyOf(v)));
    return new ClientRequest(
        upperCase(method),
        Target.of(uri),
        Collections.unmodifiableMap(h),
        body == null ? NO_BODY : body.clone());
  }

  /**
   * A request over an adapter's view of its client's request, without copies: {@code headers} must
   * be unmodifiable and case-insensitive (a {@link HeaderView}, say) and {@code body} is read,
   * never written, so the client's own array will do while the call lasts.
   */
  static ClientRequest wrap(
      String method, Target target, Map<String, List<String>> headers, byte[] body) {
    return new ClientRequest(upperCase(method), target, headers, body == null ? NO_BODY : body);
  }

  /**
   * The method in upper case; a method that already is (nearly every one) is returned as it is,
   * found with a plain scan rather than {@code toUpperCase}'s locale-aware one, on every call.
   */
  private static String upperCase(String method) {
    for (int i = 0; i < method.length(); i++) {
      char c = method.charAt(i);
      if (c < 'A' || c > 'Z') {
        return method.toUpperCase(Locale.ROOT); // lower case, a token character, or not ASCII
      }
    }
    return method;
  }

  /** A GET without headers. */
  public static ClientRequest get(URI uri) {
    return of("GET", uri, Map.of(), null);
  }

  public String method() {
    return method;
  }

  /** The URI (for a request an adapter made, built from its client's request on first use). */
  public URI uri() {
    return target.uri();
  }

  Target target() {
    return target;
  }

  /** The headers, case-insensitive by name, unmodifiable. */
  public Map<String, List<String>> headers() {
    return headers;
  }

  /** The first value of a header, or {@code null}. */
  public String header(String name) {
    List<String> v = headers.get(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  /** The body's length. */
  public int bodyLength() {
    return body.length;
  }

  /** A copy of the body. */
  public byte[] body() {
    return body.clone();
  }

  byte[] bodyUnsafe() {
    return body;
  }

  /** Whether RFC 9110 calls the method idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE). */
  public boolean isIdempotent() {
    return IDEMPOTENT.contains(method);
  }

  @Override
  public String toString() {
    return method + " " + uri();
  }

  /**
   * Where a request goes, in the parts the engine reads on every call (the stale store's key), as
   * the client's own request already holds them; the {@link URI} is made only when something asks
   * for it (a log line, the JDK transport). Parsing a URI per call was a measurable part of the
   * Apache and OkHttp adapters' cost. Immutable and thread-safe.
   */
  static final class Target {
    /** The scheme in lower case, or {@code null}. */
    final String scheme;

    /**
     * The host as {@link URI#getHost()} gives it (an IPv6 address in brackets), or {@code null}.
     */
    final String host;

    /** The port, or -1 when none is given. */
    final int port;

    /** The raw (still encoded) path, {@code "/"} when empty. */
    final String rawPath;

    /** The raw query without {@code '?'}, or {@code null}. */
    final String rawQuery;

    private final java.util.function.Supplier<URI> source;
    private volatile URI uri;
    private String authorityKey;

    Target(
        String scheme,
        String host,
        int port,
        String rawPath,
        String rawQuery,
        java.util.function.Supplier<URI> source) {
      this.scheme =
          scheme == null || "http".equals(scheme) || "https".equals(scheme)
              ? scheme // the usual ones, as clients hold them: no lower-casing per call
              : scheme.toLowerCase(Locale.ROOT);
      int colon = host == null ? -1 : host.indexOf(':');
      this.host =
          colon >= 0 && colon != host.lastIndexOf(':') && !host.startsWith("[")
              ? "[" + host + "]" // an IPv6 address (two colons at least), as URI writes it
              : host;
      this.port = port;
      this.rawPath = rawPath == null || rawPath.isEmpty() ? "/" : rawPath;
      this.rawQuery = rawQuery;
      this.source = source;
    }

    static Target of(URI uri) {
      String host = uri.getHost();
      int port = uri.getPort();
      String authority = uri.getRawAuthority();
      if (host == null && authority != null) {
        // a registry-based authority, which URI does not split into host and port (a host name
        // with '_', say): keep it whole (without user info) so that two such hosts never share
        // a key
        host = authority.substring(authority.lastIndexOf('@') + 1);
        port = -1;
      }
      Target t = new Target(uri.getScheme(), host, port, uri.getRawPath(), uri.getRawQuery(), null);
      t.uri = uri;
      return t;
    }

    /**
     * A target from parts a client holds as text; {@code pathAndQuery} is the request target in
     * origin form ({@code /path?query}). Its URI is made from the same parts when asked for (or,
     * should they not form a valid URI, the origin's).
     */
    static Target of(String scheme, String host, int port, String pathAndQuery) {
      int q = pathAndQuery.indexOf('?');
      String rawPath = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
      String rawQuery = q < 0 ? null : pathAndQuery.substring(q + 1);
      return new Target(scheme, host, port, rawPath, rawQuery, null);
    }

    URI uri() {
      URI u = uri;
      if (u == null) {
        u = source != null ? source.get() : fromParts();
        uri = u;
      }
      return u;
    }

    private URI fromParts() {
      String origin = (scheme == null ? "http" : scheme) + "://" + (host == null ? "" : host);
      origin += port < 0 ? "" : ":" + port;
      try {
        return new URI(origin + rawPath + (rawQuery == null ? "" : "?" + rawQuery));
      } catch (URISyntaxException e) {
        try {
          return new URI(origin + "/");
        } catch (URISyntaxException stillNot) {
          return URI.create("http://invalid/");
        }
      }
    }

    /**
     * The address for a log line: scheme, host, port and path, without query (which may carry
     * tokens), cleaned of control characters. Made from the parts, so it never needs a URI.
     */
    String logAddress() {
      return LogText.address(scheme, host, port, rawPath);
    }

    /** Whether the target names a host: without one, no stale copy is kept or served. */
    boolean hasHost() {
      return host != null && !host.isEmpty();
    }

    /**
     * The host and port for a cache key: the host in lower case, with the port unless it is the
     * scheme's default (so {@code http://a:80/} and {@code http://a/} are one entry).
     */
    String authorityKey() {
      String key = authorityKey;
      if (key == null) { // a racing first use makes an equal string: harmless
        String h = host == null ? "" : host.toLowerCase(Locale.ROOT);
        key = isDefaultPort() ? h : h + ":" + port;
        authorityKey = key;
      }
      return key;
    }

    /**
     * Whether {@link #authorityKey()} equals {@code key}, answered without building it when the
     * host is already in lower case (the usual case): the stale store asks on every good response,
     * and a target lives for one call.
     */
    boolean hasAuthorityKey(String key) {
      String h = host == null ? "" : host;
      if (authorityKey != null || !isLowerCaseAscii(h)) {
        return authorityKey().equals(key); // a host in upper case, say: compare the whole key
      }
      int end = h.length();
      return key.startsWith(h)
          && (isDefaultPort() ? key.length() == end : isPortAt(key, end, port));
    }

    /** Whether lower-casing leaves {@code s} as it is, answered for ASCII only. */
    private static boolean isLowerCaseAscii(String s) {
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (c >= 0x80 || (c >= 'A' && c <= 'Z')) {
          return false;
        }
      }
      return true;
    }

    private boolean isDefaultPort() {
      return port < 0
          || ("http".equals(scheme) && port == 80)
          || ("https".equals(scheme) && port == 443);
    }

    /** Whether {@code key} ends with {@code ':'} and {@code port} in decimal at {@code at}. */
    private static boolean isPortAt(String key, int at, int port) {
      int digits = key.length() - at - 1;
      if (digits < 1 || digits > 10 || key.charAt(at) != ':') {
        return false;
      }
      if (digits > 1 && key.charAt(at + 1) == '0') {
        return false; // "080" is never how a port is written in a key
      }
      long value = 0; // an int port of up to ten digits (java.net.URI does not bound it)
      for (int i = at + 1; i < key.length(); i++) {
        char c = key.charAt(i);
        if (c < '0' || c > '9') {
          return false;
        }
        value = value * 10 + (c - '0');
      }
      return value == port;
    }
  }
}
