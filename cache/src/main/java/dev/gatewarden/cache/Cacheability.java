package dev.gatewarden.cache;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The strict rules of {@code docs/stale-cache.md} as pure functions: which requests and responses
 * may be stored, how long a stored copy may be served, and which request headers pick a variant.
 */
final class Cacheability {
  /**
   * The longest stale window: 2^31 - 1 seconds (about 68 years), RFC 9111's "infinity". Keeps every
   * sum of ticker readings far from overflow.
   */
  static final long MAX_WINDOW_NANOS = TimeUnit.SECONDS.toNanos(Integer.MAX_VALUE);

  /** Hop-by-hop fields (RFC 9110 §7.6.1) and {@code Age}, which a copy gets anew when served. */
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
          "proxy-connection",
          "age");

  private static final Pattern WHITESPACE = Pattern.compile("[ \\t\\r\\n]+");

  private Cacheability() {}

  /**
   * The request-side rules. With {@code forLookup}, HEAD passes the method rule too (it is answered
   * from the GET copy); every other rule is the same for storing and serving.
   */
  static StoreDecision checkRequest(CacheRequest request, CachePolicy policy, boolean forLookup) {
    if (!policy.enabled()) {
      return StoreDecision.DISABLED;
    }
    String method = request.method();
    if (!"GET".equals(method) && !(forLookup && "HEAD".equals(method))) {
      return StoreDecision.NOT_GET;
    }
    if (request.header("Authorization") != null) {
      return StoreDecision.AUTHORIZATION;
    }
    if (!policy.ignoreRequestCookies() && request.header("Cookie") != null) {
      return StoreDecision.COOKIE;
    }
    if (request.hasSession()) {
      return StoreDecision.SESSION;
    }
    if (request.hasAuthenticatedUser()) {
      return StoreDecision.AUTHENTICATED;
    }
    if (!isSafeUri(request.path(), request.query())) {
      return StoreDecision.UNSAFE_URI;
    }
    return StoreDecision.STORED;
  }

  /**
   * Refuses the usual cache-deception tricks, which make two URIs look different to a cache and
   * alike to the app: path parameters, encoded separators, dots or NUL (any case), backslashes,
   * empty segments and dot segments. A NUL in the query is refused too.
   */
  static boolean isSafeUri(String path, String query) {
    if (path == null || path.isEmpty() || path.charAt(0) != '/') {
      return false;
    }
    if (path.indexOf(';') >= 0 || path.indexOf('\\') >= 0 || path.contains("//")) {
      return false;
    }
    if (hasEncoded(path, "2F", "5C", "3B", "2E", "00")
        || (query != null && hasEncoded(query, "00"))) {
      return false;
    }
    return !(path.contains("/./")
        || path.contains("/../")
        || path.endsWith("/.")
        || path.endsWith("/.."));
  }

  private static boolean hasEncoded(String s, String... hexes) {
    for (int i = s.indexOf('%'); i >= 0 && i + 2 < s.length(); i = s.indexOf('%', i + 1)) {
      String hex = s.substring(i + 1, i + 3).toUpperCase(Locale.ROOT);
      for (String h : hexes) {
        if (h.equals(hex)) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * The rules on the response after its status was found to be 200, in the order of {@link
   * StoreDecision}; {@link StoreDecision#STORED} if none refuses.
   *
   * @param headers all the response's headers, hop-by-hop ones included
   */
  /**
   * The response rules, reading headers lazily through {@code header} (case-insensitive names;
   * {@code null} or empty when absent) in the order the rules need them, so the commonest refusals
   * ({@code Set-Cookie}, {@code no-store}, {@code private}) cost a header lookup or two.
   */
  static StoreDecision checkResponse(Function<String, List<String>> header, CacheControl cc) {
    if (present(header.apply("Set-Cookie")) || present(header.apply("Set-Cookie2"))) {
      return StoreDecision.SET_COOKIE;
    }
    if (cc.isPrivate) {
      return StoreDecision.PRIVATE;
    }
    if (cc.noStore) {
      return StoreDecision.NO_STORE;
    }
    // RFC 9111 §5.4: Pragma counts only without Cache-Control
    if (cc.noCache
        || (!present(header.apply("Cache-Control"))
            && CacheControl.parse(header.apply("Pragma")).noCache)) {
      return StoreDecision.NO_CACHE;
    }
    List<String> vary = varyNames(header.apply("Vary"));
    if (vary.contains("*")) {
      return StoreDecision.VARY_STAR;
    }
    if (vary.contains("cookie") || vary.contains("authorization")) {
      return StoreDecision.VARY_ON_CREDENTIALS;
    }
    return StoreDecision.STORED;
  }

  private static boolean present(List<String> values) {
    return values != null && !values.isEmpty();
  }

  /**
   * The headers a copy keeps: all but hop-by-hop ones, those that {@code Connection} names, and
   * {@code Age}.
   */
  static HeaderMap storedHeaders(HeaderMap headers) {
    Set<String> dropped = new TreeSet<>(NOT_STORED);
    List<String> connection = headers.get("Connection");
    if (connection != null) {
      for (String line : connection) {
        for (String name : line.split(",")) {
          dropped.add(name.trim().toLowerCase(Locale.ROOT));
        }
      }
    }
    return headers.without(dropped);
  }

  /**
   * How long after storage a copy may be served, in nanoseconds, decided from its own directives
   * and the policy given when it was stored:
   *
   * <ul>
   *   <li>{@code must-revalidate}, {@code proxy-revalidate} or {@code s-maxage}: its freshness
   *       lifetime only;
   *   <li>else {@code stale-if-error=N}: freshness lifetime + N seconds;
   *   <li>else the policy's {@link CachePolicy#maxStale()}.
   * </ul>
   *
   * Never more than {@link #MAX_WINDOW_NANOS}.
   */
  static long windowNanos(CacheControl cc, CachePolicy policy) {
    long seconds;
    if (cc.forbidsStale()) {
      seconds = cc.freshnessSeconds();
    } else if (cc.staleIfErrorSeconds() != CacheControl.ABSENT) {
      seconds = cc.freshnessSeconds() + cc.staleIfErrorSeconds();
    } else {
      long maxStaleSeconds = policy.maxStale().getSeconds();
      return maxStaleSeconds >= Integer.MAX_VALUE
          ? MAX_WINDOW_NANOS
          : TimeUnit.SECONDS.toNanos(maxStaleSeconds) + policy.maxStale().getNano();
    }
    return Math.min(TimeUnit.SECONDS.toNanos(seconds), MAX_WINDOW_NANOS);
  }

  /**
   * The header names that {@code Vary} lists, lower case, sorted, without duplicates, so that
   * {@code Vary: A, B} and {@code Vary: b} + {@code Vary: a} name the same variants.
   */
  static List<String> varyNames(List<String> vary) {
    if (vary == null || vary.isEmpty()) {
      return List.of();
    }
    Set<String> names = new TreeSet<>();
    for (String line : vary) {
      for (String part : line.split(",")) {
        String name = part.trim().toLowerCase(Locale.ROOT);
        if (!name.isEmpty()) {
          names.add(name);
        }
      }
    }
    return List.copyOf(names);
  }

  /**
   * The request's values for the {@code Vary} names, trimmed and with inner whitespace collapsed to
   * one space; {@code null} stands for an absent header, which differs from an empty one.
   */
  static List<String> varyValues(CacheRequest request, List<String> names) {
    if (names.isEmpty()) {
      return List.of();
    }
    List<String> out = new ArrayList<>(names.size());
    for (String name : names) {
      String v = request.header(name);
      out.add(v == null ? null : WHITESPACE.matcher(v.trim()).replaceAll(" "));
    }
    return Collections.unmodifiableList(out);
  }
}
