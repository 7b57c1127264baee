package dev.gatewarden.resilience;

import java.net.URI;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * An outbound request in the engine's neutral model: method, URI, headers and a replayable body.
 * Adapters build it from their client's request type. Immutable and thread-safe.
 */
public final class ClientRequest {
  private static final Set<String> IDEMPOTENT =
      Set.of("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE");
  private static final byte[] NO_BODY = new byte[0];

  private final String method;
  private final URI uri;
  private final Map<String, List<String>> headers;
  private final byte[] body;

  private ClientRequest(String method, URI uri, Map<String, List<String>> headers, byte[] body) {
    this.method = method;
    this.uri = uri;
    this.headers = headers;
    this.body = body;
  }

  /**
   * A request. Copies the headers and body.
   *
   * @param body the full body, or {@code null} for none
   */
  public static ClientRequest of(
      String method, URI uri, Map<String, List<String>> headers, byte[] body) {
    Objects.requireNonNull(uri, "uri");
    Map<String, List<String>> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    headers.forEach((k, v) -> h.put(k, List.copyOf(v)));
    return new ClientRequest(
        method.toUpperCase(Locale.ROOT),
        uri,
        Collections.unmodifiableMap(h),
        body == null ? NO_BODY : body.clone());
  }

  /** A GET without headers. */
  public static ClientRequest get(URI uri) {
    return of("GET", uri, Map.of(), null);
  }

  public String method() {
    return method;
  }

  public URI uri() {
    return uri;
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

  /** The body's length. */
  public int bodyLength() {
    return body.length;
  }

  /** A copy of the body. */
  public byte[] body() {
    return body.clone();
  }

  byte[] bodyUnsafe() {
    return body;
  }

  /** Whether RFC 9110 calls the method idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE). */
  public boolean isIdempotent() {
    return IDEMPOTENT.contains(method);
  }

  @Override
  public String toString() {
    return method + " " + uri;
  }
}
