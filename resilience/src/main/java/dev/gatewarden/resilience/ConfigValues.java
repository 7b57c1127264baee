package dev.gatewarden.resilience;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses the text values of flat configuration keys (web.xml {@code init-param}s, properties files)
 * into typed values. Every method either returns a valid value or throws a {@link ConfigException}
 * that names the key, the value and what is allowed. Stateless and thread-safe.
 *
 * <pre>{@code
 * Duration maxStale = ConfigValues.duration("cache.max-stale", "2m");   // PT2M
 * long budget = ConfigValues.bytes("cache.max-bytes", "64MiB");        // 67108864
 * }</pre>
 */
public final class ConfigValues {
  private static final Pattern DURATION =
      Pattern.compile("(\\d{1,12})\\s*(ms|s|m|h|d)", Pattern.CASE_INSENSITIVE);
  private static final Pattern SIZE =
      Pattern.compile("(\\d{1,15})\\s*(b|kb|kib|k|mb|mib|m|gb|gib|g)?", Pattern.CASE_INSENSITIVE);

  /** What {@link #duration} accepts, for error messages. */
  public static final String DURATION_FORMAT =
      "a duration such as 250ms, 5s, 2m, 1h, 1d or ISO-8601 (PT1M)";

  /** What {@link #bytes} accepts, for error messages. */
  public static final String SIZE_FORMAT = "a size such as 1048576, 512KiB, 1MiB or 64MB";

  private ConfigValues() {}

  /**
   * Parses a duration: {@code 250ms}, {@code 5s}, {@code 2m}, {@code 1h}, {@code 1d}, or ISO-8601
   * ({@code PT1M30S}). Negative durations are rejected.
   */
  public static Duration duration(String key, String value) {
    String v = trimmed(key, value, DURATION_FORMAT);
    Matcher m = DURATION.matcher(v);
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      switch (m.group(2).toLowerCase(Locale.ROOT)) {
        case "ms":
          return Duration.ofMillis(n);
        case "s":
          return Duration.ofSeconds(n);
        case "m":
          return Duration.ofMinutes(n);
        case "h":
          return Duration.ofHours(n);
        default:
          return Duration.ofDays(n);
      }
    }
    try {
      Duration d = Duration.parse(v);
      if (!d.isNegative()) {
        return d;
      }
    } catch (DateTimeParseException e) {
      // fall through to the error below
    }
    throw new ConfigException(key, value, DURATION_FORMAT);
  }

  /**
   * Parses a size in bytes: a plain number, or one with a unit ({@code KiB}/{@code KB}/{@code k}
   * are all 1024 bytes, likewise {@code MiB}, {@code GiB}).
   */
  public static long bytes(String key, String value) {
    String v = trimmed(key, value, SIZE_FORMAT);
    Matcher m = SIZE.matcher(v);
    if (!m.matches()) {
      throw new ConfigException(key, value, SIZE_FORMAT);
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
    long factor;
    switch (unit.charAt(0)) {
      case 'k':
        factor = 1L << 10;
        break;
      case 'm':
        factor = 1L << 20;
        break;
      case 'g':
        factor = 1L << 30;
        break;
      default:
        factor = 1;
    }
    try {
      return Math.multiplyExact(n, factor);
    } catch (ArithmeticException e) {
      throw new ConfigException(key, value, SIZE_FORMAT, e);
    }
  }

  /** Parses {@code true} or {@code false} (any case); anything else is rejected. */
  public static boolean bool(String key, String value) {
    String v = trimmed(key, value, "true or false").toLowerCase(Locale.ROOT);
    if (v.equals("true")) {
      return true;
    }
    if (v.equals("false")) {
      return false;
    }
    throw new ConfigException(key, value, "true or false");
  }

  /** Parses a whole number within {@code [min, max]}. */
  public static int integer(String key, String value, int min, int max) {
    String allowed = "a whole number from " + min + " to " + max;
    String v = trimmed(key, value, allowed);
    try {
      int n = Integer.parseInt(v);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // fall through to the error below
    }
    throw new ConfigException(key, value, allowed);
  }

  /**
   * Splits a comma-separated list, trimming each element and dropping empty ones. An empty value
   * gives an empty list.
   */
  public static List<String> list(String key, String value) {
    if (value == null) {
      throw new ConfigException(key, null, "a comma-separated list");
    }
    List<String> out = new ArrayList<>();
    for (String part : value.split(",")) {
      String p = part.trim();
      if (!p.isEmpty()) {
        out.add(p);
      }
    }
    return Collections.unmodifiableList(out);
  }

  private static String trimmed(String key, String value, String allowed) {
    if (value == null || value.isBlank()) {
      throw new ConfigException(key, value, allowed);
    }
    return value.trim();
  }
}
