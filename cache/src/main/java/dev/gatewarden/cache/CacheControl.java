package dev.gatewarden.cache;

import java.util.List;
import java.util.Locale;

/**
 * The {@code Cache-Control} (or {@code Pragma}) directives the stale cache cares about. Parsing
 * never throws: names are case-insensitive, arguments may be quoted (and may then contain commas),
 * repeated header lines are combined, and unknown directives are skipped.
 *
 * <p>A directive given twice counts by its first occurrence (RFC 9111 §4.2.1). A {@code max-age} or
 * {@code s-maxage} that is not a delta-seconds number makes the response stale from the start
 * (freshness 0, as RFC 9111 §4.2.1 advises for invalid freshness information); a malformed {@code
 * stale-if-error} counts as absent. Numbers too large to represent are capped at {@link
 * Integer#MAX_VALUE} seconds (RFC 9111 §1.2.2).
 *
 * <p>Filled in once by {@link #parse}, never changed afterwards.
 */
final class CacheControl {
  /** The directive was not given. */
  static final long ABSENT = -1;

  /** The directive was given with an argument that is not delta-seconds. */
  static final long MALFORMED = -2;

  boolean noStore;
  boolean noCache;
  boolean isPrivate;
  boolean mustRevalidate;
  boolean proxyRevalidate;
  long maxAge = ABSENT;
  long sMaxAge = ABSENT;
  long staleIfError = ABSENT;

  private CacheControl() {}

  /** Parses every line of the header; {@code null} (no header) gives no directives. */
  static CacheControl parse(List<String> headerValues) {
    CacheControl cc = new CacheControl();
    if (headerValues != null) {
      for (String value : headerValues) {
        if (value != null) {
          cc.parseLine(value);
        }
      }
    }
    return cc;
  }

  private void parseLine(String line) {
    int n = line.length();
    int i = 0;
    while (i < n) {
      int start = i;
      while (i < n && line.charAt(i) != '=' && line.charAt(i) != ',') {
        i++;
      }
      String name = line.substring(start, i).trim().toLowerCase(Locale.ROOT);
      String arg = null;
      if (i < n && line.charAt(i) == '=') {
        i++;
        while (i < n && (line.charAt(i) == ' ' || line.charAt(i) == '\t')) {
          i++;
        }
        StringBuilder sb = new StringBuilder();
        boolean closed = true;
        if (i < n && line.charAt(i) == '"') {
          i++;
          while (i < n && line.charAt(i) != '"') {
            if (line.charAt(i) == '\\' && i + 1 < n) {
              i++;
            }
            sb.append(line.charAt(i++));
          }
          closed = i < n;
          i = Math.min(i + 1, n);
        }
        int rest = i;
        while (i < n && line.charAt(i) != ',') {
          i++;
        }
        // what follows a quoted string stays in the argument, so "60"x is malformed
        arg = closed ? sb.append(line, rest, i).toString().trim() : null;
      }
      i++; // the comma
      if (!name.isEmpty()) {
        apply(name, arg);
      }
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
        isPrivate = true; // likewise
        break;
      case "must-revalidate":
        mustRevalidate = true;
        break;
      case "proxy-revalidate":
        proxyRevalidate = true;
        break;
      case "max-age":
        maxAge = maxAge == ABSENT ? seconds(arg) : maxAge;
        break;
      case "s-maxage":
        sMaxAge = sMaxAge == ABSENT ? seconds(arg) : sMaxAge;
        break;
      case "stale-if-error":
        staleIfError = staleIfError == ABSENT ? seconds(arg) : staleIfError;
        break;
      default:
        break;
    }
  }

  /** Delta-seconds (digits only), capped at {@link Integer#MAX_VALUE}; else {@link #MALFORMED}. */
  static long seconds(String arg) {
    if (arg == null || arg.isEmpty()) {
      return MALFORMED;
    }
    for (int k = 0; k < arg.length(); k++) {
      char c = arg.charAt(k);
      if (c < '0' || c > '9') {
        return MALFORMED;
      }
    }
    // 18 digits always fit in a long
    return arg.length() > 18 ? Integer.MAX_VALUE : Math.min(Long.parseLong(arg), Integer.MAX_VALUE);
  }

  /** The freshness lifetime in seconds: {@code s-maxage}, else {@code max-age}, else 0. */
  long freshnessSeconds() {
    long lifetime = sMaxAge != ABSENT ? sMaxAge : maxAge;
    return Math.max(lifetime, 0);
  }

  /**
   * Whether the response may only be served within its freshness lifetime: {@code must-revalidate},
   * {@code proxy-revalidate}, or {@code s-maxage} (which implies {@code proxy-revalidate} for a
   * shared cache, RFC 9111 §5.2.2.10) — even a malformed one.
   */
  boolean forbidsStale() {
    return mustRevalidate || proxyRevalidate || sMaxAge != ABSENT;
  }

  /** The {@code stale-if-error} seconds, or {@link #ABSENT} when absent or malformed. */
  long staleIfErrorSeconds() {
    return staleIfError >= 0 ? staleIfError : ABSENT;
  }
}
