package dev.gatewarden.filter;

import java.util.Arrays;
import java.util.Locale;

/**
 * Chooses an error page's representation from the request's {@code Accept} header. Stateless and
 * thread-safe.
 *
 * <p>Three representations are offered: {@code text/html}, {@code application/problem+json} (also
 * chosen by {@code application/json}, {@code application/*+json} and other {@code +json} types) and
 * {@code text/plain}. Each gets the q of the most specific media range that matches it (RFC 9110
 * §12.5.1, so {@code text/html;q=0, *}{@code /*} rules HTML out). The highest q wins; on a tie a
 * representation named explicitly beats one matched by a wildcard, then the one listed earlier
 * wins, then plain text, HTML and problem+json in that order. So:
 *
 * <ul>
 *   <li>browsers, which list {@code text/html} first, get HTML;
 *   <li>{@code application/json} and {@code application/problem+json} get problem+json;
 *   <li>a bare {@code *}{@code /*} (curl, most scripts), a missing, empty or unparseable header,
 *       and a header that accepts none of the three (an error page is sent anyway) get plain text.
 * </ul>
 *
 * <p>Parsing is forgiving: an element whose media range or q is malformed is skipped, a q outside
 * [0, 1] is clamped, and parameters other than q are ignored.
 */
final class AcceptNegotiation {
  /** The representations an error page is offered in. */
  enum Representation {
    HTML,
    PROBLEM_JSON,
    TEXT
  }

  /** Tie-break order when q, explicitness and position are all equal. */
  private static final Representation[] PREFERENCE = {
    Representation.TEXT, Representation.HTML, Representation.PROBLEM_JSON
  };

  // How specifically a media range names a representation. EXPLICIT and above are "explicit".
  private static final int NO_MATCH = -1;
  private static final int ANY = 0; // */*
  private static final int TYPE = 1; // text/*, application/*
  private static final int EXPLICIT = 2; // application/*+json, application/vnd.x+json
  private static final int EXACT_ALIAS = 3; // application/json
  private static final int EXACT = 4; // text/html, application/problem+json, text/plain

  private AcceptNegotiation() {}

  /** The representation to send for this {@code Accept} header value ({@code null} if absent). */
  static Representation choose(String accept) {
    if (accept == null || accept.isBlank()) {
      return Representation.TEXT;
    }
    int count = PREFERENCE.length;
    double[] q = new double[count];
    int[] specificity = new int[count];
    int[] position = new int[count];
    Arrays.fill(specificity, NO_MATCH);

    int n = accept.length();
    int start = 0;
    int index = 0;
    while (start <= n) {
      int end = endOfElement(accept, start);
      MediaRange range = MediaRange.parse(accept, start, end);
      if (range != null) {
        for (int r = 0; r < count; r++) {
          int s = range.specificityFor(PREFERENCE[r]);
          // The most specific range decides; among equally specific ones the first listed does.
          if (s > specificity[r]) {
            specificity[r] = s;
            q[r] = range.q;
            position[r] = index;
          }
        }
        index++;
      }
      start = end + 1;
    }

    int best = -1;
    for (int r = 0; r < count; r++) {
      if (specificity[r] == NO_MATCH || q[r] <= 0) {
        continue;
      }
      if (best < 0
          || beats(q[r], specificity[r], position[r], q[best], specificity[best], position[best])) {
        best = r;
      }
    }
    return best < 0 ? Representation.TEXT : PREFERENCE[best];
  }

  private static boolean beats(double q, int s, int pos, double otherQ, int otherS, int otherPos) {
    if (q != otherQ) {
      return q > otherQ;
    }
    boolean explicit = s >= EXPLICIT;
    boolean otherExplicit = otherS >= EXPLICIT;
    if (explicit != otherExplicit) {
      return explicit;
    }
    return pos < otherPos;
  }

  /** The index of the comma ending the element that starts at {@code start}, or the length. */
  private static int endOfElement(String s, int start) {
    boolean quoted = false;
    for (int i = start; i < s.length(); i++) {
      char c = s.charAt(i);
      if (quoted) {
        if (c == '\\') {
          i++;
        } else if (c == '"') {
          quoted = false;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        return i;
      }
    }
    return s.length();
  }

  /** One well-formed element of an {@code Accept} header. */
  private static final class MediaRange {
    final String type;
    final String subtype;
    final double q;

    private MediaRange(String type, String subtype, double q) {
      this.type = type;
      this.subtype = subtype;
      this.q = q;
    }

    /** Parses {@code s[start, end)}, or returns {@code null} when it is malformed. */
    static MediaRange parse(String s, int start, int end) {
      int semicolon = indexOf(s, ';', start, end);
      int rangeEnd = semicolon < 0 ? end : semicolon;
      String range = s.substring(start, rangeEnd).trim().toLowerCase(Locale.ROOT);
      int slash = range.indexOf('/');
      if (slash < 0) {
        return null;
      }
      String type = range.substring(0, slash);
      String subtype = range.substring(slash + 1);
      if (!isToken(type) || !isToken(subtype) || (type.equals("*") && !subtype.equals("*"))) {
        return null;
      }
      double q = 1;
      int p = semicolon;
      while (p >= 0) {
        int next = indexOfUnquoted(s, ';', p + 1, end);
        int paramEnd = next < 0 ? end : next;
        String param = s.substring(p + 1, paramEnd).trim();
        int eq = param.indexOf('=');
        if (eq > 0 && param.substring(0, eq).trim().equalsIgnoreCase("q")) {
          q = qvalue(param.substring(eq + 1).trim());
          if (Double.isNaN(q)) {
            return null;
          }
        }
        p = next;
      }
      return new MediaRange(type, subtype, q);
    }

    int specificityFor(Representation r) {
      switch (r) {
        case HTML:
          return textMatch("html");
        case TEXT:
          return textMatch("plain");
        default:
          if (type.equals("*")) {
            return ANY;
          }
          if (!type.equals("application")) {
            return NO_MATCH;
          }
          switch (subtype) {
            case "problem+json":
              return EXACT;
            case "json":
              return EXACT_ALIAS;
            case "*":
              return TYPE;
            default:
              // application/*+json, and any JSON-based type such as application/vnd.api+json
              return subtype.endsWith("+json") ? EXPLICIT : NO_MATCH;
          }
      }
    }

    private int textMatch(String wanted) {
      if (type.equals("*")) {
        return ANY;
      }
      if (!type.equals("text")) {
        return NO_MATCH;
      }
      if (subtype.equals("*")) {
        return TYPE;
      }
      return subtype.equals(wanted) ? EXACT : NO_MATCH;
    }

    /** A decimal q clamped to [0, 1], or NaN when it is not a plain decimal number. */
    private static double qvalue(String v) {
      int i = 0;
      boolean negative = false;
      if (!v.isEmpty() && (v.charAt(0) == '-' || v.charAt(0) == '+')) {
        negative = v.charAt(0) == '-';
        i++;
      }
      int digits = 0;
      int dots = 0;
      for (int j = i; j < v.length(); j++) {
        char c = v.charAt(j);
        if (c >= '0' && c <= '9') {
          digits++;
        } else if (c == '.' && dots == 0) {
          dots++;
        } else {
          return Double.NaN;
        }
      }
      if (digits == 0 || v.length() - i > 16) {
        return Double.NaN;
      }
      if (negative) {
        return 0;
      }
      return Math.min(1, Double.parseDouble(v.substring(i)));
    }

    private static boolean isToken(String s) {
      if (s.isEmpty()) {
        return false;
      }
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        boolean ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
        if (!ok) {
          return false;
        }
      }
      return true;
    }

    private static int indexOf(String s, char c, int from, int to) {
      for (int i = from; i < to; i++) {
        if (s.charAt(i) == c) {
          return i;
        }
      }
      return -1;
    }

    private static int indexOfUnquoted(String s, char c, int from, int to) {
      boolean quoted = false;
      for (int i = from; i < to; i++) {
        char ch = s.charAt(i);
        if (quoted) {
          if (ch == '\\') {
            i++;
          } else if (ch == '"') {
            quoted = false;
          }
        } else if (ch == '"') {
          quoted = true;
        } else if (ch == c) {
          return i;
        }
      }
      return -1;
    }
  }
}
