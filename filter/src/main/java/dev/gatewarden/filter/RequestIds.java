package dev.gatewarden.filter;

import jakarta.servlet.http.HttpServletRequest;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Chooses a request's id: a valid incoming id header, else the trace id of a valid W3C {@code
 * traceparent}, else a new random one. Valid means 1 to 128 characters of letters, digits and
 * {@code - _ . : + / =}, so an id can be logged and reflected without surprises (it is still
 * escaped wherever it is reflected).
 */
final class RequestIds {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private RequestIds() {}

  static String choose(HttpServletRequest request, String header) {
    String incoming = request.getHeader(header);
    if (isValid(incoming)) {
      return incoming;
    }
    String trace = traceId(request.getHeader("traceparent"));
    return trace != null ? trace : generate();
  }

  static boolean isValid(String id) {
    if (id == null || id.isEmpty() || id.length() > 128) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '-'
              || c == '_'
              || c == '.'
              || c == ':'
              || c == '+'
              || c == '/'
              || c == '=';
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  /** The trace id of a version-00 {@code traceparent}, or null. */
  static String traceId(String traceparent) {
    if (traceparent == null || traceparent.length() < 55) {
      return null;
    }
    String t = traceparent.trim();
    if (t.length() < 55 || t.charAt(2) != '-' || t.charAt(35) != '-' || t.charAt(52) != '-') {
      return null;
    }
    String id = t.substring(3, 35);
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return null;
      }
    }
    return id.equals("00000000000000000000000000000000") ? null : id;
  }

  static String generate() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    char[] out = new char[32];
    long hi = r.nextLong();
    long lo = r.nextLong();
    for (int i = 0; i < 16; i++) {
      out[i] = HEX[(int) (hi >>> (60 - 4 * i)) & 0xf];
      out[16 + i] = HEX[(int) (lo >>> (60 - 4 * i)) & 0xf];
    }
    return new String(out);
  }
}
