package dev.gatewarden.filter;

import java.util.Locale;

/**
 * Chooses the error page's representation from {@code Accept}: HTML, RFC 9457 problem+json, or
 * plain text. The highest q wins; on a tie an explicit match beats a wildcard, then the range
 * listed first. A bare {@code *}{@code /*}, a missing or unparseable header give plain text (curl,
 * scripts); browsers name {@code text/html} explicitly. Malformed parts are ignored. Stateless.
 */
final class AcceptNegotiation {
  /** The representations offered. */
  enum Kind {
    HTML,
    PROBLEM_JSON,
    TEXT
  }

  private AcceptNegotiation() {}

  static Kind choose(String accept) {
    if (accept == null || accept.isBlank()) {
      return Kind.TEXT;
    }
    Kind best = Kind.TEXT;
    double bestQ = -1;
    int bestSpecificity = -1;
    int position = 0;
    for (String part : accept.split(",")) {
      position++;
      String[] params = part.split(";");
      String range = params[0].trim().toLowerCase(Locale.ROOT);
      int slash = range.indexOf('/');
      if (slash <= 0 || slash == range.length() - 1) {
        continue;
      }
      double q = 1.0;
      for (int i = 1; i < params.length; i++) {
        String p = params[i].trim().toLowerCase(Locale.ROOT);
        if (p.startsWith("q=")) {
          try {
            q = Math.max(0, Math.min(1, Double.parseDouble(p.substring(2).trim())));
          } catch (NumberFormatException e) {
            q = -1; // unparseable: ignore this range
          }
        }
      }
      if (q <= 0) {
        continue;
      }
      Kind kind;
      int specificity;
      if (range.equals("text/html") || range.equals("application/xhtml+xml")) {
        kind = Kind.HTML;
        specificity = 2;
      } else if (range.equals("application/problem+json")
          || range.equals("application/json")
          || (range.startsWith("application/") && range.endsWith("+json"))) {
        kind = Kind.PROBLEM_JSON;
        specificity = 2;
      } else if (range.equals("text/plain")) {
        kind = Kind.TEXT;
        specificity = 2;
      } else if (range.equals("text/*") || range.equals("*/*")) {
        kind = Kind.TEXT;
        specificity = 1;
      } else if (range.equals("application/*")) {
        kind = Kind.PROBLEM_JSON;
        specificity = 1;
      } else {
        continue;
      }
      if (q > bestQ || (q == bestQ && specificity > bestSpecificity)) {
        best = kind;
        bestQ = q;
        bestSpecificity = specificity;
      }
    }
    return position == 0 ? Kind.TEXT : best;
  }
}
