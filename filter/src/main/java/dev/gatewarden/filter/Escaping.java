package dev.gatewarden.filter;

/**
 * Escapes values that error pages reflect (request path, request id) for the three formats they are
 * written in. Each method returns text that can be placed anywhere its format allows text, so a
 * template author cannot pick the wrong context: HTML text and quoted attributes, the inside of a
 * JSON string, a line of plain text. Stateless and thread-safe.
 *
 * <p>None lets through what would not survive UTF-8 encoding or could disturb a reader: lone
 * surrogates and C0/C1 control characters become U+FFFD in HTML (which keeps tab and line breaks,
 * mere whitespace there) and plain text, and {@code \}{@code uXXXX} escapes in JSON.
 */
final class Escaping {
  private static final char REPLACEMENT = '\uFFFD';
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private Escaping() {}

  /**
   * For HTML text and for attribute values in double or single quotes: {@code & < > " '} become
   * character references.
   */
  static String html(String s) {
    StringBuilder out = null;
    int n = s.length();
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      String replacement;
      switch (c) {
        case '&':
          replacement = "&amp;";
          break;
        case '<':
          replacement = "&lt;";
          break;
        case '>':
          replacement = "&gt;";
          break;
        case '"':
          replacement = "&quot;";
          break;
        case '\'':
          replacement = "&#39;";
          break;
        default:
          if (c == '\t' || c == '\n' || c == '\r' || !unsafe(s, i)) {
            if (out != null) {
              out.append(c);
            }
            continue;
          }
          replacement = "\uFFFD";
      }
      if (out == null) {
        out = new StringBuilder(n + 16).append(s, 0, i);
      }
      out.append(replacement);
    }
    return out == null ? s : out.toString();
  }

  /**
   * For the inside of a JSON string (RFC 8259): quote, backslash and control characters (C0, DEL,
   * C1) are escaped, and so are {@code < > & '}, U+2028 and U+2029, so the result is also safe if
   * the JSON is ever embedded in an HTML {@code <script>} or attribute. A lone surrogate becomes a
   * {@code \}{@code uXXXX} escape, since it could not be encoded as UTF-8.
   */
  static String json(String s) {
    StringBuilder out = null;
    int n = s.length();
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      String simple = null;
      boolean unicode = false;
      switch (c) {
        case '"':
          simple = "\\\"";
          break;
        case '\\':
          simple = "\\\\";
          break;
        case '\n':
          simple = "\\n";
          break;
        case '\r':
          simple = "\\r";
          break;
        case '\t':
          simple = "\\t";
          break;
        case '\b':
          simple = "\\b";
          break;
        case '\f':
          simple = "\\f";
          break;
        case '<':
        case '>':
        case '&':
        case '\'':
        case '\u2028':
        case '\u2029':
          unicode = true;
          break;
        default:
          unicode = c < 0x20 || (c >= 0x7f && c <= 0x9f) || isLoneSurrogate(s, i);
      }
      if (simple == null && !unicode) {
        if (out != null) {
          out.append(c);
        }
        continue;
      }
      if (out == null) {
        out = new StringBuilder(n + 16).append(s, 0, i);
      }
      if (simple != null) {
        out.append(simple);
      } else {
        out.append("\\u")
            .append(HEX[(c >> 12) & 0xf])
            .append(HEX[(c >> 8) & 0xf])
            .append(HEX[(c >> 4) & 0xf])
            .append(HEX[c & 0xf]);
      }
    }
    return out == null ? s : out.toString();
  }

  /**
   * For plain text: control characters (including line breaks and ESC, so a value cannot add lines
   * or drive a terminal) and lone surrogates become U+FFFD; everything else is kept.
   */
  static String text(String s) {
    StringBuilder out = null;
    int n = s.length();
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      boolean replace = unsafe(s, i);
      if (!replace) {
        if (out != null) {
          out.append(c);
        }
        continue;
      }
      if (out == null) {
        out = new StringBuilder(n + 16).append(s, 0, i);
      }
      out.append(REPLACEMENT);
    }
    return out == null ? s : out.toString();
  }

  /** A C0 or C1 control character, DEL, or half of a broken surrogate pair. */
  private static boolean unsafe(String s, int i) {
    char c = s.charAt(i);
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || isLoneSurrogate(s, i);
  }

  private static boolean isLoneSurrogate(String s, int i) {
    char c = s.charAt(i);
    if (Character.isHighSurrogate(c)) {
      return i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1));
    }
    if (Character.isLowSurrogate(c)) {
      return i == 0 || !Character.isHighSurrogate(s.charAt(i - 1));
    }
    return false;
  }
}
