package dev.gatewarden.filter;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.gatewarden.cache.StaleCache;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Everything {@link GatewardenFilter} needs, validated once. Three faces build it: this builder
 * (code), {@link #fromProperties(Map)} (web.xml {@code init-param}s or a properties file; keys in
 * {@code docs/configuration.md}), and the Spring Boot starter. Immutable and thread-safe.
 *
 * <pre>{@code
 * GatewardenConfig config = GatewardenConfig.builder()
 *     .canonicalHost("shop.example.com")
 *     .route(Route.builder("api").patterns("/api/*").build())
 *     .build();
 * servletContext.addFilter("gatewarden", new GatewardenFilter(config))
 *     .addMappingForUrlPatterns(null, false, "/*");
 * }</pre>
 */
public final class GatewardenConfig {
  /** The default capture buffer: 1 MiB. */
  public static final int DEFAULT_BUFFER_SIZE = 1 << 20;

  /** The content types streamed by default. */
  public static final List<String> DEFAULT_STREAMING_CONTENT_TYPES =
      List.of("text/event-stream", "application/x-ndjson", "multipart/x-mixed-replace");

  /** The default {@code Retry-After} on 503 pages: 30 seconds. */
  public static final Duration DEFAULT_RETRY_AFTER = Duration.ofSeconds(30);

  private static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}");
  private static final Pattern HOST = Pattern.compile("[A-Za-z0-9.:\\[\\]-]{1,255}");

  private final String canonicalHost;
  private final int bufferSize;
  private final List<String> streamingContentTypes;
  private final String requestIdHeader;
  private final long cacheMaxBytes;
  private final long cacheMaxEntryBytes;
  private final Duration retryAfter;
  private final boolean autoRetry;
  private final String htmlTemplate;
  private final String jsonTemplate;
  private final String textTemplate;
  private final List<Route> routes;
  private final Route defaultRoute;
  private final MeterRegistry meterRegistry;
  private final Ticker ticker;

  private GatewardenConfig(Builder b) {
    this.canonicalHost = b.canonicalHost;
    this.bufferSize = b.bufferSize;
    this.streamingContentTypes = List.copyOf(b.streamingContentTypes);
    this.requestIdHeader = b.requestIdHeader;
    this.cacheMaxBytes = b.cacheMaxBytes;
    this.cacheMaxEntryBytes = b.cacheMaxEntryBytes;
    this.retryAfter = b.retryAfter;
    this.autoRetry = b.autoRetry;
    this.htmlTemplate = b.htmlTemplate;
    this.jsonTemplate = b.jsonTemplate;
    this.textTemplate = b.textTemplate;
    this.routes = List.copyOf(b.routes);
    this.defaultRoute = b.defaultRoute;
    this.meterRegistry = b.meterRegistry;
    this.ticker = b.ticker;
  }

  /** A builder with the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Reads flat keys, as given in web.xml {@code init-param}s or a properties file. Keys may carry a
   * {@code gatewarden.} prefix. Unknown keys are rejected, so a typo cannot silently disable a
   * setting.
   *
   * @throws dev.gatewarden.resilience.ConfigException naming the key, the value and what is allowed
   */
  public static GatewardenConfig fromProperties(Map<String, String> properties) {
    return FlatKeys.read(properties, builder()).build();
  }

  /** The host used in stale-cache keys, or {@code null} to use the request's server name. */
  public String canonicalHost() {
    return canonicalHost;
  }

  /** The capture buffer's size in bytes; a response that outgrows it is streamed and not stored. */
  public int bufferSize() {
    return bufferSize;
  }

  /** Content types (without parameters, lower case) that are streamed from the first byte. */
  public List<String> streamingContentTypes() {
    return streamingContentTypes;
  }

  /** The request id header, read from requests and set on responses ({@code X-Request-Id}). */
  public String requestIdHeader() {
    return requestIdHeader;
  }

  /** The stale cache's bound on all stored bytes. */
  public long cacheMaxBytes() {
    return cacheMaxBytes;
  }

  /** The stale cache's bound on one stored body. */
  public long cacheMaxEntryBytes() {
    return cacheMaxEntryBytes;
  }

  /** The {@code Retry-After} sent with 503 error pages. */
  public Duration retryAfter() {
    return retryAfter;
  }

  /** Whether the HTML error page reloads itself after {@code Retry-After}. */
  public boolean autoRetry() {
    return autoRetry;
  }

  /** The HTML error page template location, or {@code null} for the built-in one. */
  public String htmlTemplate() {
    return htmlTemplate;
  }

  /** The problem+json error template location, or {@code null} for the built-in one. */
  public String jsonTemplate() {
    return jsonTemplate;
  }

  /** The plain-text error template location, or {@code null} for the built-in one. */
  public String textTemplate() {
    return textTemplate;
  }

  /** The routes in matching order, without the default route. */
  public List<Route> routes() {
    return routes;
  }

  /** The route for requests no other route matches. */
  public Route defaultRoute() {
    return defaultRoute;
  }

  /** Where meters are registered; {@code Metrics.globalRegistry} unless one was given. */
  public MeterRegistry meterRegistry() {
    return meterRegistry;
  }

  /** The time source for stale-copy ages and windows. */
  public Ticker ticker() {
    return ticker;
  }

  @Override
  public String toString() {
    return "GatewardenConfig{canonicalHost="
        + canonicalHost
        + ", bufferSize="
        + bufferSize
        + ", streamingContentTypes="
        + streamingContentTypes
        + ", cacheMaxBytes="
        + cacheMaxBytes
        + ", cacheMaxEntryBytes="
        + cacheMaxEntryBytes
        + ", retryAfter="
        + retryAfter
        + ", routes="
        + routes
        + ", defaultRoute="
        + defaultRoute
        + '}';
  }

  /** Builds a {@link GatewardenConfig}. Not thread-safe; {@link #build()} copies and validates. */
  public static final class Builder {
    private String canonicalHost;
    private int bufferSize = DEFAULT_BUFFER_SIZE;
    private List<String> streamingContentTypes = DEFAULT_STREAMING_CONTENT_TYPES;
    private String requestIdHeader = "X-Request-Id";
    private long cacheMaxBytes = StaleCache.DEFAULT_MAXIMUM_BYTES;
    private long cacheMaxEntryBytes = StaleCache.DEFAULT_MAXIMUM_ENTRY_BYTES;
    private Duration retryAfter = DEFAULT_RETRY_AFTER;
    private boolean autoRetry = true;
    private String htmlTemplate;
    private String jsonTemplate;
    private String textTemplate;
    private final List<Route> routes = new ArrayList<>();
    private Route defaultRoute = Route.builder("default").build();
    private MeterRegistry meterRegistry = Metrics.globalRegistry;
    private Ticker ticker = Ticker.systemTicker();

    private Builder() {}

    /**
     * Sets the host used in stale-cache keys. Set it when the app answers for one site behind a
     * proxy; otherwise the servlet's server name is used (never a raw forwarded header).
     *
     * @throws IllegalArgumentException if it is not a host name, optionally with a port
     */
    public Builder canonicalHost(String host) {
      if (host != null && !HOST.matcher(host).matches()) {
        throw new IllegalArgumentException(
            "canonical host \""
                + host
                + "\" is not allowed: use a host name such as shop.example.com");
      }
      this.canonicalHost = host == null ? null : host.toLowerCase(Locale.ROOT);
      return this;
    }

    /**
     * Sets the capture buffer size.
     *
     * @throws IllegalArgumentException outside 1 KiB to 64 MiB
     */
    public Builder bufferSize(int bytes) {
      if (bytes < 1024 || bytes > (64 << 20)) {
        throw new IllegalArgumentException(
            "buffer size " + bytes + " is not allowed: use 1KiB to 64MiB");
      }
      this.bufferSize = bytes;
      return this;
    }

    /**
     * Sets the content types that are streamed from the first byte (replacing the defaults).
     *
     * @throws IllegalArgumentException if one is not a {@code type/subtype}
     */
    public Builder streamingContentTypes(List<String> types) {
      List<String> out = new ArrayList<>();
      for (String t : types) {
        String v = t == null ? "" : t.trim().toLowerCase(Locale.ROOT);
        if (!v.matches("[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")) {
          throw new IllegalArgumentException(
              "streaming content type \"" + t + "\" is not allowed: use type/subtype");
        }
        out.add(v);
      }
      this.streamingContentTypes = Collections.unmodifiableList(out);
      return this;
    }

    /**
     * Sets the request id header name.
     *
     * @throws IllegalArgumentException if not an HTTP token
     */
    public Builder requestIdHeader(String name) {
      if (name == null || !HEADER_NAME.matcher(name).matches()) {
        throw new IllegalArgumentException(
            "request id header \"" + name + "\" is not allowed: use an HTTP header name");
      }
      this.requestIdHeader = name;
      return this;
    }

    /** Bounds the stale cache's stored bytes (default 64 MiB). */
    public Builder cacheMaxBytes(long bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException("cache max bytes must be positive: " + bytes);
      }
      this.cacheMaxBytes = bytes;
      return this;
    }

    /** Bounds one stored body (default 1 MiB). */
    public Builder cacheMaxEntryBytes(long bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException("cache max entry bytes must be positive: " + bytes);
      }
      this.cacheMaxEntryBytes = bytes;
      return this;
    }

    /**
     * Sets the {@code Retry-After} of 503 pages.
     *
     * @throws IllegalArgumentException outside 1 second to 1 hour
     */
    public Builder retryAfter(Duration retryAfter) {
      if (retryAfter.compareTo(Duration.ofSeconds(1)) < 0
          || retryAfter.compareTo(Duration.ofHours(1)) > 0) {
        throw new IllegalArgumentException(
            "retry after " + retryAfter + " is not allowed: use 1s to 1h");
      }
      this.retryAfter = retryAfter;
      return this;
    }

    /** Whether the HTML error page reloads itself after {@code Retry-After} (default true). */
    public Builder autoRetry(boolean autoRetry) {
      this.autoRetry = autoRetry;
      return this;
    }

    /** Replaces the HTML error template ({@code classpath:/…}, {@code file:/…} or a file path). */
    public Builder htmlTemplate(String location) {
      this.htmlTemplate = location;
      return this;
    }

    /** Replaces the problem+json error template. */
    public Builder jsonTemplate(String location) {
      this.jsonTemplate = location;
      return this;
    }

    /** Replaces the plain-text error template. */
    public Builder textTemplate(String location) {
      this.textTemplate = location;
      return this;
    }

    /**
     * Adds a route; routes match in the order added.
     *
     * @throws IllegalArgumentException if it has no patterns or its name is taken
     */
    public Builder route(Route route) {
      if (route.patterns().isEmpty()) {
        throw new IllegalArgumentException(
            "route \"" + route.name() + "\" has no patterns: give it at least one, e.g. /api/*");
      }
      for (Route r : routes) {
        if (r.name().equals(route.name())) {
          throw new IllegalArgumentException("route name \"" + route.name() + "\" is used twice");
        }
      }
      routes.add(route);
      return this;
    }

    /**
     * Replaces the default route's policy (it must have no patterns).
     *
     * @throws IllegalArgumentException if it has patterns
     */
    public Builder defaultRoute(Route route) {
      if (!route.patterns().isEmpty()) {
        throw new IllegalArgumentException("the default route cannot have patterns");
      }
      this.defaultRoute = route;
      return this;
    }

    /** The default route being built, to derive other routes from. */
    Route defaultRoute() {
      return defaultRoute;
    }

    /** Registers meters here instead of {@code Metrics.globalRegistry}. */
    public Builder meterRegistry(MeterRegistry registry) {
      this.meterRegistry = Objects.requireNonNull(registry, "meterRegistry");
      return this;
    }

    /** Sets the time source (tests use a fake one). */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Returns the immutable configuration.
     *
     * @throws IllegalArgumentException if settings contradict each other
     */
    public GatewardenConfig build() {
      if (cacheMaxEntryBytes > cacheMaxBytes) {
        throw new IllegalArgumentException(
            "cache max entry bytes ("
                + cacheMaxEntryBytes
                + ") cannot exceed cache max bytes ("
                + cacheMaxBytes
                + ")");
      }
      Set<String> names = new HashSet<>();
      for (Route r : routes) {
        names.add(r.name());
      }
      if (names.contains(defaultRoute.name())) {
        throw new IllegalArgumentException(
            "route name \"" + defaultRoute.name() + "\" is the default route's name");
      }
      return new GatewardenConfig(this);
    }
  }
}
