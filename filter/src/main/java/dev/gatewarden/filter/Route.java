package dev.gatewarden.filter;

import dev.gatewarden.cache.CachePolicy;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * A named group of request paths with its own policy: which statuses count as failures, how stale
 * copies are kept, and whether the app's flushes are honoured. The first route whose pattern
 * matches a request's path (servlet path plus path info, decoded, without the context path)
 * applies; a default route, which has no patterns, matches everything else.
 *
 * <p>Patterns follow servlet mapping syntax: an exact path ({@code /health}), a prefix ending in
 * {@code /*} ({@code /api/*}, which also matches {@code /api}), an extension ({@code *.css}), or
 * {@code /*} for all. Immutable and thread-safe.
 *
 * <pre>{@code
 * Route api = Route.builder("api").patterns("/api/*")
 *     .cache(CachePolicy.builder().maxStale(Duration.ofMinutes(5)).build())
 *     .build();
 * }</pre>
 */
public final class Route {
  /** The statuses that count as failures unless a route says otherwise: 500, 502, 503 and 504. */
  public static final Set<Integer> DEFAULT_FAILURE_STATUSES =
      Collections.unmodifiableSet(new TreeSet<>(List.of(500, 502, 503, 504)));

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");

  private final String name;
  private final List<String> patterns;
  private final CachePolicy cache;
  private final boolean honourFlush;
  private final java.time.Duration outboundDeadline;
  private final Set<Integer> failureStatuses;
  private final BitSet failureStatusBits = new BitSet(600);

  private Route(Builder b) {
    this.name = b.name;
    this.patterns = List.copyOf(b.patterns);
    this.cache = b.cache;
    this.honourFlush = b.honourFlush;
    this.outboundDeadline = b.outboundDeadline;
    this.failureStatuses = Collections.unmodifiableSet(new TreeSet<>(b.failureStatuses));
    failureStatuses.forEach(failureStatusBits::set);
  }

  /** Whether the status is a failure on this route (no boxing on the request path). */
  boolean isFailureStatus(int status) {
    return status >= 0 && failureStatusBits.get(status);
  }

  /**
   * A builder for a route with this name.
   *
   * @param name letters, digits, {@code -} and {@code _}, at most 64; used as the {@code route}
   *     metrics tag
   * @throws IllegalArgumentException if the name is not allowed
   */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** The route's name, also its {@code route} metrics tag. */
  public String name() {
    return name;
  }

  /** The path patterns; empty for a default route. */
  public List<String> patterns() {
    return patterns;
  }

  /** The stale-cache policy. */
  public CachePolicy cache() {
    return cache;
  }

  /**
   * Whether the app's {@code flush()} sends the bytes written so far to the client at once (for
   * long-polling or progressively rendered pages). Off by default: flushes within the capture
   * buffer are absorbed so that a failure can still be answered with a stale copy or an error page.
   */
  public boolean honourFlush() {
    return honourFlush;
  }

  /**
   * The time the app has, from the request's arrival, for calls it makes through Gatewarden's HTTP
   * clients: the filter makes a {@code Deadline} of this length current on the request thread, so
   * every outbound total timeout is capped by it and calls fail fast once it has passed; {@code
   * null} (the default) sets none. It bounds outbound calls only: it does not answer a 504 by
   * itself when the handler is slow for other reasons.
   */
  public java.time.Duration outboundDeadline() {
    return outboundDeadline;
  }

  /** The response statuses that count as failures on this route. */
  public Set<Integer> failureStatuses() {
    return failureStatuses;
  }

  /** A builder starting from this route's settings, under a new name. */
  public Builder toBuilder(String newName) {
    Builder b = new Builder(newName);
    b.patterns.addAll(patterns);
    b.cache = cache;
    b.honourFlush = honourFlush;
    b.outboundDeadline = outboundDeadline;
    b.failureStatuses = failureStatuses;
    return b;
  }

  @Override
  public String toString() {
    return "Route{"
        + name
        + ", patterns="
        + patterns
        + ", failureStatuses="
        + failureStatuses
        + ", honourFlush="
        + honourFlush
        + ", "
        + cache
        + '}';
  }

  /** Builds a {@link Route}. Not thread-safe; {@link #build()} copies. */
  public static final class Builder {
    private final String name;
    private final List<String> patterns = new ArrayList<>();
    private CachePolicy cache = CachePolicy.defaults();
    private boolean honourFlush;
    private java.time.Duration outboundDeadline;
    private Set<Integer> failureStatuses = DEFAULT_FAILURE_STATUSES;

    private Builder(String name) {
      if (name == null || !NAME.matcher(name).matches()) {
        throw new IllegalArgumentException(
            "route name \"" + name + "\" is not allowed: use 1 to 64 letters, digits, '-' or '_'");
      }
      this.name = name;
    }

    /**
     * Adds path patterns (servlet mapping syntax).
     *
     * @throws IllegalArgumentException if a pattern is not of that syntax
     */
    public Builder patterns(String... patterns) {
      for (String p : patterns) {
        this.patterns.add(checkPattern(p));
      }
      return this;
    }

    /** Sets the stale-cache policy. */
    public Builder cache(CachePolicy cache) {
      this.cache = Objects.requireNonNull(cache, "cache");
      return this;
    }

    /**
     * Sets the deadline for outbound calls made while handling a request (see {@link
     * Route#outboundDeadline()}); {@code null} for none.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder outboundDeadline(java.time.Duration deadline) {
      if (deadline != null && (deadline.isZero() || deadline.isNegative())) {
        throw new IllegalArgumentException("outbound deadline must be positive: " + deadline);
      }
      this.outboundDeadline = deadline;
      return this;
    }

    /** Honours the app's flushes (see {@link Route#honourFlush()}). */
    public Builder honourFlush(boolean honourFlush) {
      this.honourFlush = honourFlush;
      return this;
    }

    /**
     * Sets the statuses that count as failures.
     *
     * @throws IllegalArgumentException if a status is outside 500–599
     */
    public Builder failureStatuses(Set<Integer> statuses) {
      for (Integer s : statuses) {
        if (s == null || s < 500 || s > 599) {
          throw new IllegalArgumentException(
              "failure status " + s + " is not allowed: use statuses from 500 to 599");
        }
      }
      this.failureStatuses = Set.copyOf(statuses);
      return this;
    }

    /** Returns the immutable route. */
    public Route build() {
      return new Route(this);
    }

    static String checkPattern(String p) {
      boolean ok =
          p != null
              && (p.equals("/*")
                  || (p.startsWith("/")
                      && p.endsWith("/*")
                      && !p.substring(0, p.length() - 2).contains("*"))
                  || (p.startsWith("*.")
                      && p.length() > 2
                      && p.indexOf('/') < 0
                      && p.indexOf('*', 1) < 0)
                  || (p.startsWith("/") && !p.contains("*")));
      if (!ok) {
        throw new IllegalArgumentException(
            "route pattern \""
                + p
                + "\" is not allowed: use an exact path (/health), a prefix (/api/*), an extension"
                + " (*.css) or /*");
      }
      return p;
    }
  }
}
