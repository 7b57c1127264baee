package dev.gatewarden.resilience;

import java.net.URI;

/**
 * Values fit for Gatewarden's one-line incident logs (the filter's and the outbound engine's):
 * stripped of control characters and double quotes, so that a crafted path, header or exception
 * message cannot forge log lines or break a quoted field, and cut at 512 characters. Stateless and
 * thread-safe.
 */
public final class LogText {
  private static final int MAX = 512;

  private LogText() {}

  /** {@code s} with control characters as {@code ?} and {@code "} as {@code '}; "-" for null. */
  public static String clean(String s) {
    if (s == null) {
      return "-";
    }
    StringBuilder sb = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c == 0x7f || c == '"') {
        if (sb == null) {
          sb = new StringBuilder(s.length()).append(s, 0, i);
        }
        sb.append(c == '"' ? '\'' : '?');
      } else if (sb != null) {
        sb.append(c);
      }
    }
    String out = sb == null ? s : sb.toString();
    return out.length() > MAX ? out.substring(0, MAX) + "…" : out;
  }

  /** A failure as "class: message", cleaned. */
  public static String describe(Throwable t) {
    String msg = t.getMessage();
    return clean(msg == null ? t.getClass().getName() : t.getClass().getName() + ": " + msg);
  }

  /**
   * An upstream address for a log line: scheme, host, port and path, without user info or query
   * (which may carry credentials or tokens), cleaned.
   */
  public static String address(URI uri) {
    return address(uri.getScheme(), uri.getHost(), uri.getPort(), uri.getRawPath());
  }

  /** The same from its parts (any may be null; a negative port is left out). */
  static String address(String scheme, String host, int port, String rawPath) {
    StringBuilder sb = new StringBuilder();
    if (scheme != null) {
      sb.append(scheme).append("://");
    }
    if (host != null) {
      sb.append(host);
    }
    if (port >= 0) {
      sb.append(':').append(port);
    }
    sb.append(rawPath == null || rawPath.isEmpty() ? "/" : rawPath);
    return clean(sb.toString());
  }
}
