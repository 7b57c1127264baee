package dev.gatewarden.cache;

import java.util.List;
import java.util.Locale;

/**
 * The {@code Cache-Control} directives the stale cache cares about, parsed leniently: names are
 * case-insensitive, values may be quoted, repeated headers are combined, and a malformed number is
 * treated as absent (RFC 9111 §4.2.1 and §5.2: a cache must not act on a value it cannot parse).
 */
final class CacheControl {
  static final long ABSENT = -1;

  boolean noStore;
  boolean noCache;
  boolean isPrivate;
  boolean mustRevalidate;
  boolean proxyRevalidate;
  long maxAge = ABSENT;
  long sMaxAge = ABSENT;
  long staleIfError = ABSENT;

  static CacheControl parse(List<String> headerValues) {
    CacheControl cc = new CacheControl();
    if (headerValues == null) {
      return cc;
    }
    for (String value : headerValues) {
      if (value != null) {
        cc.parseOne(value);
      }
    }
    return cc;
  }

  private void parseOne(String value) {
    int i = 0;
    int n = value.length();
    while (i < n) {
      // name
      int start = i;
      while (i < n && value.charAt(i) != '=' && value.charAt(i) != ',') {
        i++;
      }
      String name = value.substring(start, i).trim().toLowerCase(Locale.ROOT);
      String arg = null;
      if (i < n && value.charAt(i) == '=') {
        i++;
        while (i < n && value.charAt(i) == ' ') {
          i++;
        }
        if (i < n && value.charAt(i) == '"') {
          StringBuilder sb = new StringBuilder();
          i++;
          while (i < n && value.charAt(i) != '"') {
            char c = value.charAt(i);
            if (c == '\\' && i + 1 < n) {
              c = value.charAt(++i);
            }
            sb.append(c);
            i++;
          }
          i++; // closing quote
          arg = sb.toString();
          while (i < n && value.charAt(i) != ',') {
            i++;
          }
        } else {
          int s = i;
          while (i < n && value.charAt(i) != ',') {
            i++;
          }
          arg = value.substring(s, i).trim();
        }
      }
      i++; // the comma
      apply(name, arg);
    }
  }

  private void apply(String name, String arg) {
    switch (name) {
      case "no-store":
        noStore = true;
        break;
      case "no-cache":
        noCache = true; // with or without a field list: be strict
        break;
      case "private":
        isPrivate = true;
        break;
      case "must-revalidate":
        mustRevalidate = true;
        break;
      case "proxy-revalidate":
        proxyRevalidate = true;
        break;
      case "max-age":
        maxAge = firstOf(maxAge, seconds(arg));
        break;
      case "s-maxage":
        sMaxAge = firstOf(sMaxAge, seconds(arg));
        // RFC 9111 §5.2.2.10: s-maxage also implies proxy-revalidate for a shared cache.
        if (sMaxAge != ABSENT) {
          proxyRevalidate = true;
        }
        break;
      case "stale-if-error":
        staleIfError = firstOf(staleIfError, seconds(arg));
        break;
      default:
        break;
    }
  }

  /** With a directive given twice, the first valid value counts. */
  private static long firstOf(long current, long parsed) {
    return current != ABSENT ? current : parsed;
  }

  /**
   * Delta-seconds: digits only; huge values are capped (RFC 9111 §1.2.2), anything else is absent.
   */
  static long seconds(String arg) {
    if (arg == null || arg.isEmpty() || arg.length() > 19) {
      return arg != null && !arg.isEmpty() && arg.chars().allMatch(Character::isDigit)
          ? Integer.MAX_VALUE
          : ABSENT;
    }
    for (int k = 0; k < arg.length(); k++) {
      char c = arg.charAt(k);
      if (c < '0' || c > '9') {
        return ABSENT;
      }
    }
    return Math.min(Long.parseLong(arg), Integer.MAX_VALUE);
  }

  /** The freshness lifetime in seconds: s-maxage, else max-age, else 0. */
  long freshnessSeconds() {
    if (sMaxAge != ABSENT) {
      return sMaxAge;
    }
    return maxAge != ABSENT ? maxAge : 0;
  }

  /** Whether the response may never be served stale (only within its freshness). */
  boolean forbidsStale() {
    return mustRevalidate || proxyRevalidate || sMaxAge != ABSENT;
  }
}
