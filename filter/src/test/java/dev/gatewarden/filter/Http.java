package dev.gatewarden.filter;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * HTTP for tests: a JDK client for well-formed exchanges, raw sockets to see exactly what was sent.
 */
public final class Http {
  private static final HttpClient CLIENT =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .followRedirects(HttpClient.Redirect.NEVER)
          .build();

  private Http() {}

  /** A GET with optional header name/value pairs. */
  public static HttpResponse<String> get(URI uri, String... headers) throws Exception {
    return send(request(uri, headers).GET().build());
  }

  /** A request with any method and body. */
  public static HttpResponse<String> send(String method, URI uri, String body, String... headers)
      throws Exception {
    HttpRequest.BodyPublisher p =
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body);
    return send(request(uri, headers).method(method, p).build());
  }

  public static HttpResponse<String> send(HttpRequest request) throws Exception {
    return CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
  }

  public static HttpResponse<byte[]> getBytes(URI uri, String... headers) throws Exception {
    return CLIENT.send(
        request(uri, headers).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  public static HttpClient client() {
    return CLIENT;
  }

  private static HttpRequest.Builder request(URI uri, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return b;
  }

  /**
   * Sends raw request text (use {@code \r\n}; add {@code Connection: close}) and returns every byte
   * the server sent until it closed the connection, or until 20 s passed.
   */
  public static String raw(int port, String requestText) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(20_000);
      OutputStream out = s.getOutputStream();
      out.write(requestText.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      try {
        for (int n; (n = in.read(buf)) != -1; ) {
          all.write(buf, 0, n);
        }
      } catch (IOException reset) {
        // a reset after the bytes we already have is part of what the test looks at
      }
      return all.toString(StandardCharsets.ISO_8859_1);
    }
  }
}
