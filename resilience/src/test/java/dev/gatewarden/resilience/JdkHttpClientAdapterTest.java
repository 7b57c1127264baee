package dev.gatewarden.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The JDK HttpClient adapter over real sockets on loopback, against a tiny scripted server that can
 * misbehave at the byte level (resets, truncated bodies, garbage, slow headers).
 */
class JdkHttpClientAdapterTest {
  private ServerSocket listener;
  private ExecutorService pool;
  private final Deque<String> script = new ArrayDeque<>(); // raw replies, or RESET / SLOW / CLOSE
  private final AtomicInteger requests = new AtomicInteger();
  private final CountDownLatch release = new CountDownLatch(1);

  @BeforeEach
  void start() throws IOException {
    listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    pool = Executors.newCachedThreadPool();
    pool.execute(
        () -> {
          while (!listener.isClosed()) {
            try {
              Socket s = listener.accept();
              pool.execute(() -> serve(s));
            } catch (IOException closed) {
              return;
            }
          }
        });
  }

  @AfterEach
  void stop() throws IOException {
    release.countDown();
    listener.close();
    pool.shutdownNow();
  }

  private void serve(Socket s) {
    try (s) {
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      while (true) {
        if (!readRequest(in)) {
          return;
        }
        requests.incrementAndGet();
        String reply;
        synchronized (script) {
          reply = script.size() > 1 ? script.poll() : script.peek();
        }
        switch (reply) {
          case "RESET":
            s.setSoLinger(true, 0);
            return;
          case "CLOSE":
            return;
          case "SLOW":
            release.await(10, TimeUnit.SECONDS);
            return;
          default:
            out.write(reply.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            if (reply.contains("Connection: close")) {
              return;
            }
        }
      }
    } catch (IOException | InterruptedException e) {
      // the client went away
    }
  }

  /** Reads one request's head and its Content-Length body; false at end of stream. */
  private static boolean readRequest(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    int state = 0;
    while (state < 4) {
      int b = in.read();
      if (b < 0) {
        return false;
      }
      head.append((char) b);
      state =
          (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3))
              ? state + 1
              : 0;
    }
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
    if (m.find()) {
      in.readNBytes(Integer.parseInt(m.group(1)));
    }
    return true;
  }

  private static String reply(int status, String body, String... headers) {
    StringBuilder sb = new StringBuilder("HTTP/1.1 " + status + " X\r\n");
    for (String h : headers) {
      sb.append(h).append("\r\n");
    }
    return sb.append("Content-Length: ")
        .append(body.length())
        .append("\r\n\r\n")
        .append(body)
        .toString();
  }

  private HttpClient client(UpstreamPolicy.Builder policy) {
    Upstream up =
        Upstream.builder(
                policy
                    .attemptTimeout(Duration.ofMillis(300))
                    .backoff(Duration.ofMillis(1), Duration.ofMillis(5))
                    .build())
            .meterRegistry(new SimpleMeterRegistry())
            .build();
    return ResilientHttpClient.wrap(HttpClient.newHttpClient(), up);
  }

  private URI uri() {
    return URI.create("http://127.0.0.1:" + listener.getLocalPort() + "/item");
  }

  private HttpResponse<String> get(HttpClient c) throws Exception {
    return c.send(HttpRequest.newBuilder(uri()).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void passesAGoodResponseThroughUnchanged() throws Exception {
    script.add(reply(200, "hello", "Content-Type: text/plain", "ETag: \"1\""));
    HttpResponse<String> r = get(client(UpstreamPolicy.builder("up")));
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("hello");
    assertThat(r.headers().firstValue("etag")).contains("\"1\"");
  }

  @Test
  void retriesAResetBeforeTheHeaders() throws Exception {
    script.add("RESET");
    script.add(reply(200, "ok"));
    assertThat(get(client(UpstreamPolicy.builder("up"))).body()).isEqualTo("ok");
    assertThat(requests).hasValue(2);
  }

  @Test
  void bodyShorterThanContentLengthIsAnInvalidResponse() {
    script.add("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nonly a part");
    HttpClient c =
        client(
            UpstreamPolicy.builder("up")
                .maxAttempts(2)
                .stale(dev.gatewarden.cache.CachePolicy.builder().enabled(false).build()));
    assertThatThrownBy(() -> get(c))
        .isInstanceOfSatisfying(
            UpstreamException.class,
            e -> assertThat(e.failureCause()).isEqualTo(FailureCause.INVALID_RESPONSE));
    assertThat(requests).hasValue(2);
  }

  @Test
  void garbageIsAnInvalidResponse() {
    script.add("HELLO THERE\r\n\r\n");
    HttpClient c = client(UpstreamPolicy.builder("up").maxAttempts(1));
    assertThatThrownBy(() -> get(c))
        .isInstanceOfSatisfying(
            UpstreamException.class,
            e ->
                assertThat(e.failureCause())
                    .isIn(FailureCause.INVALID_RESPONSE, FailureCause.CONNECT));
  }

  @Test
  void slowHeadersTimeOutAndTheConnectionIsNotReused() throws Exception {
    script.add("SLOW");
    script.add(reply(200, "fresh"));
    HttpClient c = client(UpstreamPolicy.builder("up").maxAttempts(1));
    assertThatThrownBy(() -> get(c))
        .isInstanceOfSatisfying(
            UpstreamException.class,
            e -> assertThat(e.failureCause()).isEqualTo(FailureCause.TIMEOUT));
    assertThat(get(c).body()).as("a late reply never reaches the next caller").isEqualTo("fresh");
  }

  @Test
  void postReachesTheUpstreamExactlyOnce() throws Exception {
    script.add(reply(503, "busy"));
    HttpClient c = client(UpstreamPolicy.builder("up"));
    HttpResponse<String> r =
        c.send(
            HttpRequest.newBuilder(uri())
                .POST(HttpRequest.BodyPublishers.ofString("order"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(requests).hasValue(1);
  }

  @Test
  void retryAfterInSecondsIsHonoured() throws Exception {
    script.add(reply(503, "busy", "Retry-After: 0"));
    script.add(reply(200, "ok"));
    assertThat(get(client(UpstreamPolicy.builder("up"))).body()).isEqualTo("ok");
    assertThat(requests).hasValue(2);
  }

  @Test
  void staleCopyIsServedWhenTheUpstreamGoesAway() throws Exception {
    script.add(reply(200, "catalogue", "Content-Type: text/plain"));
    HttpClient c = client(UpstreamPolicy.builder("up"));
    get(c);
    synchronized (script) {
      script.clear();
      script.add("RESET");
    }
    HttpResponse<String> r = get(c);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("catalogue");
    assertThat(r.headers().firstValue("Cache-Status").orElseThrow()).startsWith("Gatewarden;");
  }

  @Test
  void asyncSendGoesThroughTheSamePolicies() throws Exception {
    script.add(reply(503, "busy"));
    script.add(reply(200, "async ok"));
    HttpResponse<String> r =
        client(UpstreamPolicy.builder("up"))
            .sendAsync(HttpRequest.newBuilder(uri()).build(), HttpResponse.BodyHandlers.ofString())
            .get(10, TimeUnit.SECONDS);
    assertThat(r.body()).isEqualTo("async ok");
    assertThat(requests).hasValue(2);
  }
}
