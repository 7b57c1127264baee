package dev.gatewarden.resilience;

/**
 * A configuration value was rejected. The message always names the key, the value that was given
 * and what is allowed, e.g. {@code gatewarden: buffer-size = "12 apples" is not allowed: expected a
 * size such as 64KiB, 1MiB or 1048576}. Thrown at start-up by builders and by the flat-key and
 * Spring Boot configuration faces, so a bad setting never reaches traffic.
 */
public final class ConfigException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String key;
  private final String value;

  /**
   * @param key the setting's key, e.g. {@code route.api.patterns}
   * @param value the rejected value as given ({@code null} when it was missing)
   * @param allowed what is allowed, e.g. {@code "a duration such as 250ms, 5s, 2m or PT1M"}
   */
  public ConfigException(String key, Object value, String allowed) {
    super(
        "gatewarden: "
            + key
            + " = "
            + (value == null ? "(missing)" : "\"" + value + "\"")
            + " is not allowed: expected "
            + allowed);
    this.key = key;
    this.value = value == null ? null : String.valueOf(value);
  }

  /** Like {@link #ConfigException(String, Object, String)}, keeping the underlying error. */
  public ConfigException(String key, Object value, String allowed, Throwable cause) {
    this(key, value, allowed);
    initCause(cause);
  }

  /** The rejected setting's key. */
  public String key() {
    return key;
  }

  /** The rejected value as given, or {@code null} when it was missing. */
  public String value() {
    return value;
  }
}
