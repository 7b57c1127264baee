package dev.gatewarden.filter;

import java.util.ArrayList;
import java.util.List;

/** Finds the route for a path: the first route with a matching pattern, else the default. */
final class RouteTable {
  private final List<Entry> entries = new ArrayList<>();
  private final Route defaultRoute;

  RouteTable(List<Route> routes, Route defaultRoute) {
    for (Route r : routes) {
      for (String p : r.patterns()) {
        entries.add(new Entry(p, r));
      }
    }
    this.defaultRoute = defaultRoute;
  }

  /**
   * @param path the decoded path within the application (servlet path plus path info)
   */
  Route match(String path) {
    for (Entry e : entries) {
      if (e.matches(path)) {
        return e.route;
      }
    }
    return defaultRoute;
  }

  private static final class Entry {
    private final Route route;
    private final String exact;
    private final String prefix;
    private final String extension;
    private final boolean all;

    Entry(String pattern, Route route) {
      this.route = route;
      this.all = pattern.equals("/*");
      if (!all && pattern.endsWith("/*")) {
        this.prefix = pattern.substring(0, pattern.length() - 2);
        this.exact = null;
        this.extension = null;
      } else if (pattern.startsWith("*.")) {
        this.extension = pattern.substring(1);
        this.exact = null;
        this.prefix = null;
      } else {
        this.exact = all ? null : pattern;
        this.prefix = null;
        this.extension = null;
      }
    }

    boolean matches(String path) {
      if (all) {
        return true;
      }
      if (exact != null) {
        return exact.equals(path);
      }
      if (prefix != null) {
        return path.startsWith(prefix)
            && (path.length() == prefix.length() || path.charAt(prefix.length()) == '/');
      }
      int slash = path.lastIndexOf('/');
      return path.endsWith(extension) && path.length() - extension.length() > slash + 1;
    }
  }
}
