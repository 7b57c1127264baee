package dev.gatewarden.cache;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The strict storage rules of {@code docs/stale-cache.md}, as pure functions. */
final class Cacheability {
  private Cacheability() {}

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
    if (!isSafeUri(request.path(), request.query())) {
      return StoreDecision.UNSAFE_URI;
    }
    return StoreDecision.STORED;
  }

  static boolean isSafeUri(String path, String query) {
    if (path == null || path.isEmpty() || path.charAt(0) != '/') {
      return false;
    }
    if (path.indexOf(';') >= 0 || path.indexOf('\\') >= 0 || path.contains("//")) {
      return false;
    }
    if (hasEncodedSeparator(path) || (query != null && query.contains("%00"))) {
      return false;
    }
    return !(path.contains("/./")
        || path.contains("/../")
        || path.endsWith("/.")
        || path.endsWith("/.."));
  }

  private static boolean hasEncodedSeparator(String path) {
    for (int i = path.indexOf('%'); i >= 0 && i + 2 < path.length(); i = path.indexOf('%', i + 1)) {
      String hex = path.substring(i + 1, i + 3).toUpperCase(Locale.ROOT);
      switch (hex) {
        case "2F":
        case "5C":
        case "3B":
        case "2E":
        case "00":
          return true;
        default:
          break;
      }
    }
    return false;
  }

  /** The rules on the response; STORED if none refuses. */
  static StoreDecision checkResponse(
      int status, Map<String, List<String>> headers, CacheControl cc) {
    if (status != 200) {
      return StoreDecision.NOT_200;
    }
    if (headers.containsKey("Set-Cookie") || headers.containsKey("Set-Cookie2")) {
      return StoreDecision.SET_COOKIE;
    }
    if (cc.isPrivate) {
      return StoreDecision.PRIVATE;
    }
    if (cc.noStore) {
      return StoreDecision.NO_STORE;
    }
    if (cc.noCache || (!headers.containsKey("Cache-Control") && pragmaNoCache(headers))) {
      return StoreDecision.NO_CACHE;
    }
    for (String name : varyNames(headers.get("Vary"))) {
      if (name.equals("*")) {
        return StoreDecision.VARY_STAR;
      }
      if (name.equals("cookie") || name.equals("authorization")) {
        return StoreDecision.VARY_ON_CREDENTIALS;
      }
    }
    return StoreDecision.STORED;
  }

  private static boolean pragmaNoCache(Map<String, List<String>> headers) {
    List<String> pragma = headers.get("Pragma");
    if (pragma != null) {
      for (String v : pragma) {
        if (v != null && v.toLowerCase(Locale.ROOT).contains("no-cache")) {
          return true;
        }
      }
    }
    return false;
  }

  /** The header names a {@code Vary} lists, lower case, in order, without duplicates. */
  static List<String> varyNames(List<String> vary) {
    if (vary == null || vary.isEmpty()) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (String v : vary) {
      if (v == null) {
        continue;
      }
      for (String part : v.split(",")) {
        String name = part.trim().toLowerCase(Locale.ROOT);
        if (!name.isEmpty() && !out.contains(name)) {
          out.add(name);
        }
      }
    }
    return Collections.unmodifiableList(out);
  }

  /**
   * The request's values for the Vary names, normalised; {@code null} stands for an absent header.
   */
  static List<String> varyValues(CacheRequest request, List<String> names) {
    if (names.isEmpty()) {
      return List.of();
    }
    List<String> out = new ArrayList<>(names.size());
    for (String name : names) {
      String v = request.header(name);
      out.add(v == null ? null : v.trim().replaceAll("\\s+", " "));
    }
    return Collections.unmodifiableList(out);
  }
}
