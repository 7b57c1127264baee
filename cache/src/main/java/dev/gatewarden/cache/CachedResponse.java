package dev.gatewarden.cache;

import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;

/**
 * A complete stored response: status, headers and body bytes, and when it was stored. Immutable and
 * thread-safe; the body is never exposed as a mutable array.
 */
public final class CachedResponse {
  private final int status;
  private final Map<String, List<String>> headers;
  private final byte[] body;
  private final long storedAtNanos;

  CachedResponse(int status, Map<String, List<String>> headers, byte[] body, long storedAtNanos) {
    this.status = status;
    this.headers = headers;
    this.body = body;
    this.storedAtNanos = storedAtNanos;
  }

  /** The status code, e.g. 200. */
  public int status() {
    return status;
  }

  /**
   * The stored headers, case-insensitive by name, in the order they were given, unmodifiable. Never
   * contains {@code Set-Cookie} (such responses are not stored).
   */
  public Map<String, List<String>> headers() {
    return headers;
  }

  /** The first value of a header, or {@code null}. */
  public String header(String name) {
    List<String> values = headers.get(name);
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  /** The body length in bytes. */
  public int bodyLength() {
    return body.length;
  }

  /** Writes the body to {@code out}. */
  public void writeBodyTo(OutputStream out) throws IOException {
    out.write(body);
  }

  /** The cache ticker's reading (nanoseconds) when the response was stored. */
  long storedAtNanos() {
    return storedAtNanos;
  }

  byte[] body() {
    return body;
  }
}
