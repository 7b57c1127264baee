package dev.gatewarden.resilience;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A complete upstream response in the engine's neutral model: status, headers and the whole body,
 * read and validated before the caller sees any of it (so a retry never follows bytes the caller
 * already had). Immutable and thread-safe when made with {@code of}; an adapter's response over its
 * client's own headers is read during one call, and a stale copy is always made from a copy.
 */
public final class ClientResponse {
  private final int status;
  private final Map<String, List<String>> headers;
  private final byte[] body;
  private final boolean personal;

  private ClientResponse(
      int status, Map<String, List<String>> headers, byte[] body, boolean personal) {
    this.status = status;
    this.headers = headers;
    this.body = body;
    this.personal = personal;
  }

  /** A response; takes ownership of {@code body} (callers must not change it afterwards). */
  public static ClientResponse of(int status, Map<String, List<String>> headers, byte[] body) {
    Map<String, List<String>> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    headers.forEach(
        (k, v) -> {
          if (k != null) {
            h.put(k, List.copyOf(v));
          }
        });
    return new ClientResponse(
        status, Collections.unmodifiableMap(h), body == null ? new byte[0] : body, false);
  }

  /**
   * A response over an adapter's own snapshot of its client's response, without copies: {@code
   * headers} must be unmodifiable and case-insensitive (a {@link HeaderView}, say) and {@code body}
   * is owned from now on.
   */
  static ClientResponse wrap(int status, Map<String, List<String>> headers, byte[] body) {
    return new ClientResponse(status, headers, body == null ? new byte[0] : body, false);
  }

  /**
   * This response marked as answering credentials or cookies that the client added below the
   * adapter (a cookie jar or store, an authenticator), which the request the engine saw did not
   * carry: it may be one user's, so it is never kept as a stale copy.
   */
  ClientResponse asPersonal() {
    return personal ? this : new ClientResponse(status, headers, body, true);
  }

  /** Whether the client sent credentials or cookies of its own for it; see {@link #asPersonal}. */
  boolean isPersonal() {
    return personal;
  }

  public int status() {
    return status;
  }

  /** The headers, case-insensitive by name, unmodifiable. */
  public Map<String, List<String>> headers() {
    return headers;
  }

  /** The first value of a header, or {@code null}. */
  public String header(String name) {
    List<String> v = headers.get(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  /** A copy of the body. */
  public byte[] body() {
    return body.clone();
  }

  /** The body without copying; do not modify it. */
  byte[] bodyUnsafe() {
    return body;
  }

  /** The body's length. */
  public int bodyLength() {
    return body.length;
  }

  /** A copy of this response with extra headers set (used to mark stale copies). */
  ClientResponse withHeaders(Map<String, String> extra) {
    Map<String, List<String>> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    h.putAll(headers);
    extra.forEach((k, v) -> h.put(k, List.of(v)));
    return new ClientResponse(status, Collections.unmodifiableMap(h), body, personal);
  }

  @Override
  public String toString() {
    return "ClientResponse{" + status + ", " + body.length + " bytes}";
  }
}
