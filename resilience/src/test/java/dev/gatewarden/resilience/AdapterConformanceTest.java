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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The conformance suite: the same scenarios through every HTTP-client adapter, over real sockets on
 * loopback, against a tiny scripted server that can misbehave at the byte level (resets, truncated
 * and trickling bodies, broken chunking, garbage, slow headers). Adapters: the JDK HttpClient,
 * OkHttp, Spring RestClient and Apache HttpClient 5.
 */
class AdapterConformanceTest {
  private ServerSocket listener;
  private ExecutorService pool;
  private final Deque<String> script = new ArrayDeque<>(); // raw replies, or RESET / SLOW / CLOSE
  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicInteger connections = new AtomicInteger();
  private final CountDownLatch release = new CountDownLatch(1);

  /** When each request arrived (System.nanoTime()), in order. */
  private final java.util.List<Long> arrivals =
      java.util.Collections.synchronizedList(new java.util.ArrayList<>());

  /** When each request arrived (System.currentTimeMillis()), in order. */
  private final java.util.List<Long> wallArrivals =
      java.util.Collections.synchronizedList(new java.util.ArrayList<>());

  /** The meters of the upstreams that {@link #client(Adapter, UpstreamPolicy.Builder)} builds. */
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

  /** The body of every request received, in order. */
  private final java.util.List<byte[]> bodies =
      java.util.Collections.synchronizedList(new java.util.ArrayList<>());

  /** The head of every request received, in order. */
  private final java.util.List<String> heads =
      java.util.Collections.synchronizedList(new java.util.ArrayList<>());

  @BeforeEach
  void start() throws IOException {
    listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    pool = Executors.newCachedThreadPool();
    pool.execute(
        () -> {
          while (!listener.isClosed()) {
            try {
              Socket s = listener.accept();
              connections.incrementAndGet();
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
        String head = readRequest(in);
        if (head == null) {
          return;
        }
        arrivals.add(System.nanoTime());
        wallArrivals.add(System.currentTimeMillis());
        heads.add(head);
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
          case "RESET_AFTER_HEADERS":
            out.write(
                "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            s.setSoLinger(true, 0);
            return;
          case "SLOW_BODY": // headers and half the body, then nothing until released
            out.write(
                "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf!"
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            release.await(10, TimeUnit.SECONDS);
            return;
          case "TRICKLE": // a 1000-byte body, one byte every 50 ms: each read is quick
            out.write(
                "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
                    .getBytes(StandardCharsets.ISO_8859_1));
            for (int i = 0; i < 1000 && !release.await(50, TimeUnit.MILLISECONDS); i++) {
              out.write('x');
              out.flush();
            }
            return;
          case "GARBAGE_LINES": // more non-HTTP lines than a lenient parser skips, then close
            out.write("NOT HTTP\r\n".repeat(20).getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            return;
          case "GARBAGE": // non-HTTP bytes, then close
            out.write("HELLO THERE\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            return;
          case "SLOW":
            release.await(10, TimeUnit.SECONDS);
            return;
          case "LATE": // a whole reply, after the client's 300 ms attempt timeout, then go on
            release.await(1500, TimeUnit.MILLISECONDS);
            out.write(reply(200, "late").getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            continue;
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

  /**
   * Reads one request's head and its body (Content-Length or chunked), which goes to {@link
   * #bodies}; the head, or null at end of stream.
   */
  private String readRequest(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    int state = 0;
    while (state < 4) {
      int b = in.read();
      if (b < 0) {
        return null;
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
      bodies.add(in.readNBytes(Integer.parseInt(m.group(1))));
    } else if (head.toString()
        .toLowerCase(java.util.Locale.ROOT)
        .contains("transfer-encoding: chunked")) {
      java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
      for (int size; (size = Integer.parseInt(line(in).trim(), 16)) > 0; ) {
        body.write(in.readNBytes(size));
        line(in);
      }
      line(in); // the empty line after the last chunk
      bodies.add(body.toByteArray());
    } else {
      bodies.add(new byte[0]);
    }
    return head.toString();
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    for (int b; (b = in.read()) >= 0 && b != '\n'; ) {
      if (b != '\r') {
        line.append((char) b);
      }
    }
    return line.toString();
  }

  /** An Apache client with the adapter around a default upstream policy. */
  private static org.apache.hc.client5.http.impl.classic.CloseableHttpClient apacheClient() {
    return apacheBuilder(upstream(policy(), System::nanoTime)).build();
  }

  /** Apache's client builder with the adapter, as the docs adopt it (Apache's retries off). */
  private static org.apache.hc.client5.http.impl.classic.HttpClientBuilder apacheBuilder(
      Upstream up) {
    return org.apache.hc.client5.http.impl.classic.HttpClients.custom()
        .addExecInterceptorFirst("gatewarden", new ApacheExecHandler(up))
        .disableAutomaticRetries();
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

  /** What a test needs from a client, whichever adapter is underneath. */
  interface TestClient {
    Result get(URI uri) throws Exception;

    /** A POST with extra headers, given as name, value, name, value, … */
    Result post(URI uri, String body, String... headers) throws Exception;
  }

  /** A response as the caller sees it: its first value of a header, and all of them. */
  record Result(
      int status,
      String body,
      java.util.function.Function<String, String> header,
      java.util.function.Function<String, java.util.List<String>> headerValues) {}

  /** Every adapter, built around the same engine. */
  enum Adapter {
    JDK(true) {
      @Override
      TestClient client(Upstream up) {
        HttpClient c = ResilientHttpClient.wrap(HttpClient.newHttpClient(), up);
        return new TestClient() {
          @Override
          public Result get(URI uri) throws Exception {
            return of(
                c.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()));
          }

          @Override
          public Result post(URI uri, String body, String... headers) throws Exception {
            HttpRequest.Builder b =
                HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofString(body));
            for (int i = 0; i < headers.length; i += 2) {
              b.header(headers[i], headers[i + 1]);
            }
            return of(c.send(b.build(), HttpResponse.BodyHandlers.ofString()));
          }

          private Result of(HttpResponse<String> r) {
            return jdkResult(r);
          }
        };
      }
    },
    OKHTTP(false) {
      @Override
      TestClient client(Upstream up) {
        okhttp3.OkHttpClient c = okHttpBuilder(up).build();
        return new TestClient() {
          @Override
          public Result get(URI uri) throws Exception {
            return call(new okhttp3.Request.Builder().url(uri.toString()).build());
          }

          @Override
          public Result post(URI uri, String body, String... headers) throws Exception {
            okhttp3.Request.Builder b =
                new okhttp3.Request.Builder()
                    .url(uri.toString())
                    .post(okhttp3.RequestBody.create(body, null));
            for (int i = 0; i < headers.length; i += 2) {
              b.addHeader(headers[i], headers[i + 1]);
            }
            return call(b.build());
          }

          private Result call(okhttp3.Request request) throws Exception {
            try (okhttp3.Response r = c.newCall(request).execute()) {
              return okResult(r);
            }
          }
        };
      }
    },
    SPRING(true) { // with the JDK's factory
      @Override
      TestClient client(Upstream up) {
        // No timeouts on the factory: the interceptor bounds each attempt by itself.
        org.springframework.web.client.RestClient c =
            springClient(
                new org.springframework.http.client.JdkClientHttpRequestFactory(),
                new SpringClientInterceptor(up));
        return new TestClient() {
          @Override
          public Result get(URI uri) throws Exception {
            return springCall(() -> c.get().uri(uri).exchange((req, res) -> springResult(res)));
          }

          @Override
          public Result post(URI uri, String body, String... headers) throws Exception {
            return springCall(
                () ->
                    c.post()
                        .uri(uri)
                        .headers(
                            h -> {
                              for (int i = 0; i < headers.length; i += 2) {
                                h.add(headers[i], headers[i + 1]);
                              }
                            })
                        .body(body)
                        .exchange((req, res) -> springResult(res)));
          }
        };
      }
    },
    APACHE(false) {
      @Override
      TestClient client(Upstream up) {
        org.apache.hc.client5.http.impl.classic.CloseableHttpClient c = apacheBuilder(up).build();
        return new TestClient() {
          @Override
          public Result get(URI uri) throws Exception {
            return call(new org.apache.hc.client5.http.classic.methods.HttpGet(uri));
          }

          @Override
          public Result post(URI uri, String body, String... headers) throws Exception {
            org.apache.hc.client5.http.classic.methods.HttpPost post =
                new org.apache.hc.client5.http.classic.methods.HttpPost(uri);
            post.setEntity(new org.apache.hc.core5.http.io.entity.StringEntity(body));
            for (int i = 0; i < headers.length; i += 2) {
              post.addHeader(headers[i], headers[i + 1]);
            }
            return call(post);
          }

          private Result call(org.apache.hc.core5.http.ClassicHttpRequest request)
              throws IOException {
            return c.execute(request, AdapterConformanceTest::apacheResult);
          }
        };
      }
    };

    /** Whether the client re-sends a GET by itself when its connection ends before a reply. */
    final boolean resendsAGetOnAnEarlyClose;

    Adapter(boolean resendsAGetOnAnEarlyClose) {
      this.resendsAGetOnAnEarlyClose = resendsAGetOnAnEarlyClose;
    }

    abstract TestClient client(Upstream upstream);
  }

  private static Result jdkResult(HttpResponse<String> r) {
    return new Result(
        r.statusCode(),
        r.body(),
        n -> r.headers().firstValue(n).orElse(null),
        n -> r.headers().allValues(n));
  }

  private static Result okResult(okhttp3.Response r) throws IOException {
    String body = r.body() == null ? "" : r.body().string();
    okhttp3.Headers h = r.headers();
    return new Result(r.code(), body, h::get, h::values);
  }

  private static Result apacheResult(org.apache.hc.core5.http.ClassicHttpResponse r)
      throws IOException, org.apache.hc.core5.http.ParseException {
    String body =
        r.getEntity() == null
            ? ""
            : org.apache.hc.core5.http.io.entity.EntityUtils.toString(
                r.getEntity(), StandardCharsets.UTF_8);
    return new Result(
        r.getCode(),
        body,
        n -> r.getFirstHeader(n) == null ? null : r.getFirstHeader(n).getValue(),
        n ->
            java.util.Arrays.stream(r.getHeaders(n))
                .map(org.apache.hc.core5.http.Header::getValue)
                .toList());
  }

  private TestClient client(Adapter adapter, UpstreamPolicy.Builder policy) {
    return adapter.client(upstream(policy, System::nanoTime, meters));
  }

  /** OkHttp's builder with the adapter, as the docs adopt it (OkHttp's own retry off). */
  private static okhttp3.OkHttpClient.Builder okHttpBuilder(Upstream up) {
    return new okhttp3.OkHttpClient.Builder()
        .addInterceptor(new OkHttpInterceptor(up))
        .retryOnConnectionFailure(false);
  }

  /** A policy that would wait 5 s per attempt and call, without stale copies. */
  private static UpstreamPolicy.Builder patient() {
    return policy()
        .attemptTimeout(Duration.ofSeconds(5))
        .totalTimeout(Duration.ofSeconds(5))
        .stale(NO_STALE);
  }

  /** Stale copies off: for scenarios whose failure must reach the caller. */
  private static final dev.gatewarden.cache.CachePolicy NO_STALE =
      dev.gatewarden.cache.CachePolicy.builder().enabled(false).build();

  /**
   * The upstream "up" with a 300 ms attempt timeout and a 1-5 ms backoff, which a test may change:
   * the suite's faults then cost little time.
   */
  private static UpstreamPolicy.Builder policy() {
    return UpstreamPolicy.builder("up")
        .attemptTimeout(Duration.ofMillis(300))
        .backoff(Duration.ofMillis(1), Duration.ofMillis(5));
  }

  private static Upstream upstream(
      UpstreamPolicy.Builder policy, java.util.function.LongSupplier nanoTime) {
    return upstream(policy, nanoTime, new SimpleMeterRegistry());
  }

  private static Upstream upstream(
      UpstreamPolicy.Builder policy,
      java.util.function.LongSupplier nanoTime,
      io.micrometer.core.instrument.MeterRegistry registry) {
    return Upstream.builder(policy.build()).meterRegistry(registry).nanoTime(nanoTime).build();
  }

  /** The engine's own retries, as its counter has them. */
  private double engineRetries() {
    return meters.get("gatewarden.client.retries").tag("upstream", "up").counter().count();
  }

  /** The time between the upstream's receiving request {@code i} and request {@code i + 1}. */
  private Duration gapAfterRequest(int i) {
    return Duration.ofNanos(arrivals.get(i + 1) - arrivals.get(i));
  }

  /** Asserts that {@code call} fails with an {@link UpstreamException} of {@code cause}. */
  private static UpstreamException assertFails(
      org.assertj.core.api.ThrowableAssert.ThrowingCallable call, FailureCause cause) {
    Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(call);
    assertThat(thrown).isInstanceOf(UpstreamException.class);
    UpstreamException e = (UpstreamException) thrown;
    assertThat(e.failureCause()).isEqualTo(cause);
    return e;
  }

  /** From now on the upstream answers every request with {@code reply}. */
  private void rescript(String reply) {
    synchronized (script) {
      script.clear();
      script.add(reply);
    }
  }

  private URI uri() {
    return uri("/item");
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + listener.getLocalPort() + path);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void passesAGoodResponseThroughUnchanged(Adapter adapter) throws Exception {
    script.add(reply(200, "hello", "Content-Type: text/plain", "ETag: \"1\""));
    Result r = client(adapter, policy()).get(uri());
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("hello");
    assertThat(r.header().apply("ETag")).isEqualTo("\"1\"");
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void repeatedResponseHeadersReachTheCallerInOrder(Adapter adapter) throws Exception {
    script.add(reply(200, "hello", "Link: <a>", "X-Trace: t", "link: <b>"));
    Result r = client(adapter, policy()).get(uri());
    assertThat(r.headerValues().apply("Link")).containsExactly("<a>", "<b>");
    assertThat(r.header().apply("x-trace")).isEqualTo("t");
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void postWithAnIdempotencyKeyIsRetriedWhenThePolicyAllows(Adapter adapter) throws Exception {
    script.add(reply(503, "busy"));
    script.add(reply(200, "ordered"));
    TestClient c = client(adapter, policy().retryWithIdempotencyKey(true));
    Result r = c.post(uri(), "order", "idempotency-key", "k-1"); // any case
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("ordered");
    assertThat(requests).hasValue(2);
    String retry = heads.get(1);
    assertThat(retry).containsIgnoringCase("idempotency-key: k-1");
    assertThat(retry.toLowerCase(java.util.Locale.ROOT).split("content-length:", -1))
        .as("one Content-Length on the retry: %s", retry)
        .hasSize(2);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void reusesAHealthyConnection(Adapter adapter) throws Exception {
    script.add(reply(200, "hello"));
    TestClient c = client(adapter, policy());
    for (int i = 0; i < 5; i++) {
      assertThat(c.get(uri()).body()).isEqualTo("hello");
    }
    assertThat(requests).hasValue(5);
    assertThat(connections).hasValue(1);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void retriesAResetBeforeTheHeaders(Adapter adapter) throws Exception {
    assertEarlyFailuresAreRetriedByTheEngine(adapter, "RESET");
  }

  /**
   * Two replies that end before any byte of a response, then a good one: the engine retries until
   * it has it. The JDK client (also under Spring's JDK factory) re-sends a GET once by itself when
   * its connection ends before any reply, so there the engine sees one failure instead of two.
   */
  private void assertEarlyFailuresAreRetriedByTheEngine(Adapter adapter, String fault)
      throws Exception {
    script.add(fault);
    script.add(fault);
    script.add(reply(200, "ok"));
    assertThat(client(adapter, policy()).get(uri()).body()).isEqualTo("ok");
    assertThat(requests).hasValue(3);
    assertThat(engineRetries())
        .as("retries by the engine, not by the client")
        .isEqualTo(adapter.resendsAGetOnAnEarlyClose ? 1 : 2);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void bodyShorterThanContentLengthIsAnInvalidResponse(Adapter adapter) {
    assertTruncatedAndRetried(
        adapter, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nonly a part");
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void brokenChunkingIsAnInvalidResponse(Adapter adapter) {
    assertTruncatedAndRetried(
        adapter, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n");
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void chunkedBodyCutOffBeforeItsLastChunkIsAnInvalidResponse(Adapter adapter) {
    assertTruncatedAndRetried(
        adapter,
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            + "5\r\nhello\r\n");
  }

  /** A GET whose every reply is {@code reply}: retried, then INVALID_RESPONSE, never a 200. */
  private void assertTruncatedAndRetried(Adapter adapter, String reply) {
    script.add(reply);
    TestClient c = client(adapter, policy().maxAttempts(2).stale(NO_STALE));
    assertThat(assertFails(() -> c.get(uri()), FailureCause.INVALID_RESPONSE).attempts())
        .isEqualTo(2);
    assertThat(requests).hasValue(2);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void garbageThenCloseIsAnInvalidResponse(Adapter adapter) {
    script.add("GARBAGE");
    TestClient c = client(adapter, policy().maxAttempts(1));
    assertFails(() -> c.get(uri()), FailureCause.INVALID_RESPONSE);
    rescript("GARBAGE_LINES"); // Apache's lenient parser gives up on these
    assertFails(() -> c.get(uri()), FailureCause.INVALID_RESPONSE);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void pooledConnectionClosedWithoutAReplyIsAConnectFailure(Adapter adapter) throws Exception {
    // the keep-alive race: the upstream closes an idle connection as the next request goes out
    script.add(reply(200, "warm"));
    script.add("CLOSE");
    TestClient c = client(adapter, policy().maxAttempts(1).stale(NO_STALE));
    assertThat(c.get(uri()).body()).isEqualTo("warm");
    assertFails(() -> c.get(uri()), FailureCause.CONNECT);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void slowHeadersTimeOutAndTheLateReplyNeverReachesTheNextCaller(Adapter adapter)
      throws Exception {
    // the upstream answers the first request whole, 1.5 s later, on the same connection: had the
    // client kept that connection, the next call would time out or read the late reply as its own
    script.add("LATE");
    script.add(reply(200, "fresh"));
    TestClient c = client(adapter, policy().maxAttempts(1));
    assertFails(() -> c.get(uri()), FailureCause.TIMEOUT);
    assertThat(c.get(uri()).body())
        .as("a late reply never reaches the next caller")
        .isEqualTo("fresh");
    assertThat(connections).as("the timed-out connection was not reused").hasValue(2);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void postReachesTheUpstreamExactlyOnce(Adapter adapter) throws Exception {
    script.add(reply(503, "busy"));
    TestClient c = client(adapter, policy());
    Result r = c.post(uri(), "order");
    assertThat(r.status()).isEqualTo(503);
    assertThat(requests).hasValue(1);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void postOnAPooledConnectionThatBreaksAfterSendingIsNotSentAgain(Adapter adapter)
      throws Exception {
    // The upstream reads the POST whole, then resets: it may have acted on it, so neither the
    // engine nor the client below it may send it again (OkHttp would, on a pooled connection,
    // unless its own retry is off as the docs adopt it).
    script.add(reply(200, "warm"));
    script.add("RESET");
    script.add(reply(200, "again"));
    TestClient c = client(adapter, policy());
    assertThat(c.get(uri()).body()).isEqualTo("warm");
    Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(() -> c.post(uri(), "order"));
    assertThat(thrown).isInstanceOf(UpstreamException.class);
    assertThat(((UpstreamException) thrown).attempts()).isEqualTo(1);
    assertThat(heads.stream().filter(h -> h.startsWith("POST")).count())
        .as("POSTs that reached the upstream")
        .isEqualTo(1);
    assertThat(connections).as("the POST went on the pooled connection").hasValue(1);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void requestsAreMeteredByUpstreamOutcomeAndCauseAndResilience4jBindsItsOwn(Adapter adapter)
      throws Exception {
    script.add(reply(200, "ok"));
    TestClient c = client(adapter, policy().maxAttempts(2).bulkhead(7).stale(NO_STALE));
    assertThat(c.get(uri()).body()).isEqualTo("ok");
    rescript("RESET");
    UpstreamException failed = assertFails(() -> c.get(uri()), FailureCause.CONNECT);
    assertThat(failed.attempts()).isEqualTo(2);

    assertThat(requestTimer("success", "none").count()).isEqualTo(1);
    assertThat(requestTimer("failure", "connect").count()).isEqualTo(1);
    assertThat(meters.find("gatewarden.client.requests").timers())
        .as("no other outcome or cause")
        .hasSize(2);
    assertThat(engineRetries()).isEqualTo(1);
    // Resilience4j's own binders: the breaker's calls, the bulkhead's capacity, the retry's calls
    assertThat(r4jTimer("resilience4j.circuitbreaker.calls", "successful").count()).isEqualTo(1);
    assertThat(r4jTimer("resilience4j.circuitbreaker.calls", "failed").count()).isEqualTo(2);
    assertThat(
            meters
                .get("resilience4j.circuitbreaker.state")
                .tag("name", "up")
                .tag("state", "closed")
                .gauge()
                .value())
        .isEqualTo(1);
    assertThat(
            meters
                .get("resilience4j.bulkhead.max.allowed.concurrent.calls")
                .tag("name", "up")
                .gauge()
                .value())
        .isEqualTo(7);
    assertThat(
            meters
                .get("resilience4j.bulkhead.available.concurrent.calls")
                .tag("name", "up")
                .gauge()
                .value())
        .as("every permit returned")
        .isEqualTo(7);
    assertThat(
            meters
                .get("resilience4j.retry.calls")
                .tag("name", "up")
                .tag("kind", "successful_without_retry")
                .functionCounter()
                .count())
        .isEqualTo(1);
    assertThat(
            meters
                .get("resilience4j.retry.calls")
                .tag("name", "up")
                .tag("kind", "failed_with_retry")
                .functionCounter()
                .count())
        .isEqualTo(1);
  }

  private io.micrometer.core.instrument.Timer requestTimer(String outcome, String cause) {
    return meters
        .get("gatewarden.client.requests")
        .tag("upstream", "up")
        .tag("outcome", outcome)
        .tag("cause", cause)
        .timer();
  }

  private io.micrometer.core.instrument.Timer r4jTimer(String name, String kind) {
    return meters.get(name).tag("name", "up").tag("kind", kind).timer();
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void retryAfterInSecondsIsHonoured(Adapter adapter) throws Exception {
    script.add(reply(503, "busy", "Retry-After: 1"));
    script.add(reply(200, "ok"));
    assertThat(client(adapter, policy()).get(uri()).body()).isEqualTo("ok");
    assertThat(requests).hasValue(2);
    assertThat(gapAfterRequest(0))
        .as("waited the second asked for, not the 1-5 ms backoff")
        .isGreaterThanOrEqualTo(Duration.ofMillis(950));
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void staleCopyIsServedWhenTheUpstreamGoesAway(Adapter adapter) throws Exception {
    script.add(reply(200, "catalogue", "Content-Type: text/plain"));
    TestClient c = client(adapter, policy());
    c.get(uri());
    rescript("RESET");
    Result r = c.get(uri());
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("catalogue");
    assertThat(r.header().apply("Cache-Status")).startsWith("Gatewarden;");
    assertThat(r.header().apply("Age")).as("Age of the copy, in seconds").matches("[0-9]+");
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void resetAfterTheHeadersIsRetriedAsAnInvalidResponse(Adapter adapter) throws Exception {
    script.add("RESET_AFTER_HEADERS");
    script.add(reply(200, "whole"));
    assertThat(client(adapter, policy()).get(uri()).body()).isEqualTo("whole");
    assertThat(requests).hasValue(2);
    assertThat(engineRetries()).as("retried by the engine, not by the client").isEqualTo(1);
    rescript("RESET_AFTER_HEADERS");
    TestClient once = client(adapter, policy().maxAttempts(1).stale(NO_STALE));
    assertFails(() -> once.get(uri()), FailureCause.INVALID_RESPONSE);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void emptyReplyIsRetried(Adapter adapter) throws Exception {
    assertEarlyFailuresAreRetriedByTheEngine(adapter, "CLOSE");
    rescript("CLOSE");
    TestClient once = client(adapter, policy().maxAttempts(1).stale(NO_STALE));
    assertFails(() -> once.get(uri()), FailureCause.CONNECT); // closed before any reply
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void tooManyRequestsIsRetried(Adapter adapter) throws Exception {
    script.add(reply(429, "slow down", "Retry-After: 0"));
    script.add(reply(200, "ok"));
    assertThat(client(adapter, policy()).get(uri()).body()).isEqualTo("ok");
    assertThat(requests).hasValue(2);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void retryAfterAsAnHttpDateIsHonoured(Adapter adapter) throws Exception {
    TestClient c = client(adapter, policy());
    // a whole second 2-3 s from now (the format has no fractions)
    java.time.ZonedDateTime at =
        java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC)
            .plusSeconds(3)
            .truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    script.add(
        reply(
            503,
            "busy",
            "Retry-After: " + java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME.format(at)));
    script.add(reply(200, "ok"));
    assertThat(c.get(uri()).body()).isEqualTo("ok");
    assertThat(requests).hasValue(2);
    assertThat(wallArrivals.get(1))
        .as("the retry came at the date, not after the 1-5 ms backoff")
        .isGreaterThanOrEqualTo(at.toInstant().toEpochMilli() - 20);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void malformedRetryAfterFallsBackToBackoff(Adapter adapter) throws Exception {
    script.add(reply(503, "busy", "Retry-After: tomorrow-ish"));
    script.add(reply(503, "busy", "Retry-After: -5"));
    script.add(reply(503, "busy", "Retry-After: 99999999999999999999")); // more than a long holds
    script.add(reply(200, "ok"));
    assertThat(client(adapter, policy().maxAttempts(4)).get(uri()).body()).isEqualTo("ok");
    assertThat(requests).hasValue(4);
    assertThat(Duration.ofNanos(arrivals.get(3) - arrivals.get(0)))
        .as("the 1-5 ms backoff three times: an unusable Retry-After never makes the engine sleep")
        .isLessThan(Duration.ofSeconds(3));
  }

  @Test
  void okHttpResendsA503WithRetryAfterZeroByItself() throws Exception {
    // what clients.md says of OkHttp's own follow-up step: below the engine, outside its budget
    script.add(reply(503, "busy", "Retry-After: 0"));
    script.add(reply(200, "ok"));
    assertThat(client(Adapter.OKHTTP, policy()).get(uri()).body()).isEqualTo("ok");
    assertThat(requests).hasValue(2);
    assertThat(engineRetries()).as("OkHttp's own re-send").isZero();
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void retryAfterBeyondTheTimeLeftIsNotWaitedFor(Adapter adapter) throws Exception {
    // 4 s is under the 10 s cap, but the call has 1 s in all: the 503 is the answer, at once
    assertAnsweredWithoutWaiting(
        adapter,
        "4",
        Duration.ofSeconds(1),
        Duration.ofSeconds(10),
        Duration.ofSeconds(3),
        "answered within the call's time, not after the 4 s asked for");
  }

  /**
   * A 503 whose {@code Retry-After} asks for a wait the policy will not take: that 503 is the
   * answer, within {@code within}, and nothing is sent again.
   */
  private void assertAnsweredWithoutWaiting(
      Adapter adapter,
      String retryAfter,
      Duration totalTimeout,
      Duration retryAfterCap,
      Duration within,
      String why)
      throws Exception {
    script.add(reply(503, "busy", "Retry-After: " + retryAfter));
    TestClient c =
        client(
            adapter,
            policy().totalTimeout(totalTimeout).retryAfterCap(retryAfterCap).stale(NO_STALE));
    long start = System.nanoTime();
    assertThat(c.get(uri()).status()).isEqualTo(503);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).as(why).isLessThan(within);
    assertThat(requests).hasValue(1);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void retryAfterBeyondTheCapIsNotWaitedFor(Adapter adapter) throws Exception {
    // 8 s would fit in the 30 s the call may take, but not under the 1 s cap
    assertAnsweredWithoutWaiting(
        adapter,
        "8",
        Duration.ofSeconds(30),
        Duration.ofSeconds(1),
        Duration.ofSeconds(5),
        "answered at once, without sleeping");
    rescript(reply(503, "busy", "Retry-After: 86400")); // and a day, with the default cap
    assertThat(client(adapter, policy()).get(uri()).status()).isEqualTo(503);
    assertThat(requests).hasValue(2);
  }

  /**
   * A 20 % retry budget without its per-second reserve, a breaker that never opens in 100 calls and
   * no stale copies: an outage's load is the budget's alone.
   */
  private static UpstreamPolicy.Builder outagePolicy() {
    return policy()
        .retryBudget(0.2, 0)
        .circuitBreaker(100, 1000, 1000, Duration.ofSeconds(30))
        .stale(NO_STALE);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void totalOutageStaysWithinTheRetryBudget(Adapter adapter) throws Exception {
    script.add(reply(503, "down"));
    TestClient c = client(adapter, outagePolicy());
    int callers = 100;
    for (int i = 0; i < callers; i++) {
      assertThat(c.get(uri()).status()).isEqualTo(503);
    }
    assertThat(requests.get()).isBetween(callers + 15, (int) (callers * 1.2) + 1);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void outageOfResetsStaysWithinTheRetryBudgetForTheEngine(Adapter adapter) throws Exception {
    script.add("RESET"); // every connection reset before any reply
    TestClient c = client(adapter, outagePolicy());
    int callers = 100;
    for (int i = 0; i < callers; i++) {
      assertFails(() -> c.get(uri()), FailureCause.CONNECT);
    }
    int engineAttempts = callers + (int) engineRetries();
    assertThat(engineAttempts).isBetween(callers + 15, (int) (callers * 1.2) + 1);
    // what reaches the upstream: each engine attempt, and the JDK client's own re-send of a GET
    // whose connection ended before any reply (clients.md: retries the client makes by itself)
    assertThat(requests.get())
        .isBetween(engineAttempts, engineAttempts * (adapter.resendsAGetOnAnEarlyClose ? 2 : 1));
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void fullBulkheadRejectsAtOnceWithoutCalling(Adapter adapter) throws Exception {
    script.add("SLOW");
    TestClient c = client(adapter, patient().bulkhead(1).maxAttempts(1));
    java.util.concurrent.Future<?> held =
        pool.submit(
            () -> {
              try {
                return c.get(uri());
              } catch (Exception expected) {
                return null; // released by closing: its outcome is not the point here
              }
            });
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (requests.get() < 1 && System.nanoTime() < until) {
      Thread.onSpinWait(); // wait until the first call is in flight at the upstream
    }
    assertThat(requests).hasValue(1);
    assertFails(() -> c.get(uri()), FailureCause.OVERLOAD);
    assertThat(requests).hasValue(1);
    release.countDown();
    held.get(10, TimeUnit.SECONDS);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void slowBodyTimesOutAndTheNextCallGetsAFreshReply(Adapter adapter) throws Exception {
    assertBodyTimesOut(adapter, "SLOW_BODY"); // half the body, then silence for 10 s
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void tricklingBodyTimesOutAtTheEndOfTheAttempt(Adapter adapter) throws Exception {
    // every read returns within the 300 ms attempt timeout; the whole body would take 50 s
    assertBodyTimesOut(adapter, "TRICKLE");
  }

  private void assertBodyTimesOut(Adapter adapter, String fault) throws Exception {
    script.add(fault);
    script.add(reply(200, "fresh"));
    TestClient c = client(adapter, policy().maxAttempts(1).stale(NO_STALE));
    long start = System.nanoTime();
    assertFails(() -> c.get(uri()), FailureCause.TIMEOUT);
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .as("bounded by the 300 ms attempt timeout, not by the server")
        .isLessThan(Duration.ofSeconds(5));
    assertThat(Thread.currentThread().isInterrupted())
        .as("no interrupt of the watchdog's leaks to the caller")
        .isFalse();
    assertThat(c.get(uri()).body())
        .as("a fresh connection, not the stalled one")
        .isEqualTo("fresh");
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void breakerOpensThenRecoversThroughTrialCalls(Adapter adapter) throws Exception {
    script.add(reply(500, "broken"));
    java.util.concurrent.atomic.AtomicLong skew = new java.util.concurrent.atomic.AtomicLong();
    Upstream up =
        upstream(
            policy()
                .maxAttempts(1)
                .circuitBreaker(50, 10, 10, Duration.ofSeconds(30))
                .stale(NO_STALE),
            () -> System.nanoTime() + skew.get());
    TestClient c = adapter.client(up);
    for (int i = 0; i < 10; i++) {
      assertThat(c.get(uri()).status()).isEqualTo(500);
    }
    assertThat(up.breakerState()).isEqualTo("OPEN");
    assertFails(() -> c.get(uri()), FailureCause.CIRCUIT_OPEN);
    assertThat(requests).hasValue(10);

    rescript(reply(200, "back"));
    skew.addAndGet(Duration.ofSeconds(31).toNanos()); // the open period has passed
    assertThat(c.get(uri()).body()).isEqualTo("back");
    assertThat(up.breakerState()).isEqualTo("HALF_OPEN");
    assertThat(c.get(uri()).body()).isEqualTo("back");
    assertThat(up.breakerState()).isEqualTo("CLOSED");
    assertThat(requests).hasValue(12);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void refusedConnectionIsAConnectFailureAfterEveryAttempt(Adapter adapter) throws Exception {
    int closedPort;
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = probe.getLocalPort();
    }
    TestClient c = client(adapter, policy());
    assertThat(
            assertFails(
                    () -> c.get(URI.create("http://127.0.0.1:" + closedPort + "/item")),
                    FailureCause.CONNECT)
                .attempts())
        .isEqualTo(3);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void unresolvableHostIsADnsFailureRetriedLikeAConnectFailure(Adapter adapter) {
    // ".invalid" never resolves (RFC 6761). Attempts long enough for a slow resolver to answer,
    // so that its answer, not the attempt timeout, is what the test sees.
    TestClient c =
        client(
            adapter,
            patient()
                .attemptTimeout(Duration.ofSeconds(20))
                .totalTimeout(Duration.ofSeconds(50))
                .maxAttempts(2));
    String host = "gatewarden-conformance.invalid";
    org.junit.jupiter.api.Assumptions.assumeTrue(
        doesNotResolve(host),
        "this machine's resolver answers for "
            + host
            + " (search domains or a hijacking resolver)");
    URI nowhere = URI.create("http://" + host + ":" + listener.getLocalPort() + "/item");
    assertThat(assertFails(() -> c.get(nowhere), FailureCause.DNS).attempts()).isEqualTo(2);
    // nothing was sent, so a POST is retried too
    assertThat(assertFails(() -> c.post(nowhere, "order"), FailureCause.DNS).attempts())
        .isEqualTo(2);
    assertThat(connections).hasValue(0);
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void plainHttpWhereTlsWasExpectedIsATlsFailureNotRetried(Adapter adapter) throws Exception {
    // A plain HTTP server answers a TLS hello with a 400, as Jetty or Tomcat would: an https://
    // address that points at a plain port, a common misconfiguration.
    AtomicInteger accepted = new AtomicInteger();
    try (ServerSocket plain = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      pool.execute(() -> answerTlsHellosWithA400(plain, accepted));
      TestClient c = client(adapter, patient());
      URI https = URI.create("https://127.0.0.1:" + plain.getLocalPort() + "/item");
      assertThat(assertFails(() -> c.get(https), FailureCause.TLS).attempts())
          .as("a handshake that failed would fail again")
          .isEqualTo(1);
    }
    // the JDK client (also under Spring) may retry a failed connect once by itself, and a
    // handshake that fails while connecting is one (clients.md: retries the client makes)
    assertThat(accepted.get()).isBetween(1, adapter.resendsAGetOnAnEarlyClose ? 2 : 1);
  }

  private static boolean doesNotResolve(String host) {
    try {
      InetAddress.getByName(host);
      return false;
    } catch (java.net.UnknownHostException expected) {
      return true;
    }
  }

  /** Reads what a client sends first, answers it with a 400 and closes after the client does. */
  private static void answerTlsHellosWithA400(ServerSocket plain, AtomicInteger accepted) {
    while (!plain.isClosed()) {
      try (Socket s = plain.accept()) {
        accepted.incrementAndGet();
        s.setSoTimeout(5000);
        s.getInputStream().read(new byte[16384]); // the hello: closing with it unread would reset
        s.getOutputStream()
            .write(
                "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.ISO_8859_1));
        s.shutdownOutput();
        s.getInputStream().transferTo(OutputStream.nullOutputStream()); // until the client closes
      } catch (IOException e) {
        // closed by the test, or the client went away
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Adapter.class)
  void currentDeadlineCapsTheCall(Adapter adapter) throws Exception {
    // What GatewardenFilter does for a route with an outbound deadline (see the filter's
    // OutboundDeadlineTest): the policy would allow 5 s, the deadline leaves 400 ms.
    script.add("SLOW");
    TestClient c = client(adapter, patient());
    long start = System.nanoTime();
    Deadline.Scope scope = Deadline.after(Duration.ofMillis(400)).makeCurrent();
    try {
      assertFails(() -> c.get(uri()), FailureCause.TIMEOUT);
    } finally {
      scope.close();
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
  }

  @Test
  void okHttpEnqueuedCallIsCappedByTheDeadlineItsRequestIsTaggedWith() throws Exception {
    script.add("SLOW");
    okhttp3.OkHttpClient c = okHttpBuilder(upstream(patient(), System::nanoTime)).build();
    java.util.concurrent.CompletableFuture<IOException> failed =
        new java.util.concurrent.CompletableFuture<>();
    long start = System.nanoTime();
    Deadline.Scope scope = Deadline.after(Duration.ofMillis(400)).makeCurrent();
    try {
      okhttp3.Request request =
          new okhttp3.Request.Builder()
              .url(uri().toString())
              .tag(Deadline.class, Deadline.current().orElse(null))
              .build();
      c.newCall(request)
          .enqueue(
              new okhttp3.Callback() {
                @Override
                public void onFailure(okhttp3.Call call, IOException e) {
                  failed.complete(e);
                }

                @Override
                public void onResponse(okhttp3.Call call, okhttp3.Response response) {
                  response.close();
                  failed.complete(null);
                }
              });
    } finally {
      scope.close();
    }
    IOException e = failed.get(10, TimeUnit.SECONDS);
    assertThat(e).isInstanceOf(UpstreamException.class);
    assertThat(((UpstreamException) e).failureCause()).isEqualTo(FailureCause.TIMEOUT);
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .as("capped by the tagged 400 ms deadline on OkHttp's thread, not the policy's 5 s")
        .isLessThan(Duration.ofSeconds(3));
  }

  @Test
  void okHttpDeadlineTagAndTheCurrentDeadlineCapTheCallByTheEarlierOfThem() throws Exception {
    okhttp3.OkHttpClient c = okHttpBuilder(upstream(patient(), System::nanoTime)).build();
    script.add("SLOW");
    Duration shortOne = Duration.ofMillis(400);
    Duration longOne = Duration.ofSeconds(10);
    for (Duration[] currentAndTag : new Duration[][] {{shortOne, longOne}, {longOne, shortOne}}) {
      long start = System.nanoTime();
      Deadline.Scope scope = Deadline.after(currentAndTag[0]).makeCurrent();
      try {
        okhttp3.Request request =
            new okhttp3.Request.Builder()
                .url(uri().toString())
                .tag(Deadline.class, Deadline.after(currentAndTag[1]))
                .build();
        assertThatThrownBy(() -> c.newCall(request).execute())
            .isInstanceOfSatisfying(
                UpstreamException.class,
                e -> assertThat(e.failureCause()).isEqualTo(FailureCause.TIMEOUT));
      } finally {
        scope.close();
      }
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .as("current %s, tag %s: capped by the earlier", currentAndTag[0], currentAndTag[1])
          .isLessThan(Duration.ofSeconds(3));
    }
  }

  @Test
  void okHttpUrlThatJavaNetUriRejectsStillGoesThrough() throws Exception {
    script.add(reply(200, "piped"));
    Upstream up = upstream(policy(), System::nanoTime);
    okhttp3.OkHttpClient c =
        new okhttp3.OkHttpClient.Builder().addInterceptor(new OkHttpInterceptor(up)).build();
    String url = uri() + "?q=a|b{c}"; // OkHttp leaves these as they are; new URI(...) refuses them
    assertThatThrownBy(() -> new URI(url)).isInstanceOf(java.net.URISyntaxException.class);
    try (okhttp3.Response r = c.newCall(new okhttp3.Request.Builder().url(url).build()).execute()) {
      assertThat(r.code()).isEqualTo(200);
      assertThat(r.body().string()).isEqualTo("piped");
    }
  }

  @Test
  void apacheCallerGetsTheUpstreamsOwnResponseAndItsConnectionStaysPooled() throws Exception {
    script.add("HTTP/1.1 503 Busy Now\r\nRetry-After: 0\r\nContent-Length: 4\r\n\r\nbusy");
    script.add(
        "HTTP/1.1 200 Fine Thanks\r\nContent-Type: text/plain; charset=UTF-8\r\nX-Trace: t1\r\n"
            + "Content-Length: 5\r\n\r\nhello");
    try (org.apache.hc.client5.http.impl.classic.CloseableHttpClient c = apacheClient()) {
      for (int call = 0; call < 2; call++) { // the first one after a retry of the 503
        String seen =
            c.execute(
                new org.apache.hc.client5.http.classic.methods.HttpGet(uri()),
                r ->
                    r.getVersion()
                        + " "
                        + r.getCode()
                        + " "
                        + r.getReasonPhrase()
                        + " "
                        + r.getFirstHeader("X-Trace").getValue()
                        + " "
                        + r.getEntity().getContentType()
                        + " "
                        + org.apache.hc.core5.http.io.entity.EntityUtils.toString(r.getEntity()));
        assertThat(seen)
            .as("the last attempt's status line and headers, with the bytes read")
            .isEqualTo("HTTP/1.1 200 Fine Thanks t1 text/plain; charset=UTF-8 hello");
      }
    }
    assertThat(requests.get()).isEqualTo(3);
    assertThat(connections.get())
        .as(
            "each response was read whole, so its connection was reused (closing it again is"
                + " harmless)")
        .isEqualTo(1);
  }

  /**
   * Gets a storable "fresh" through {@code c}, so that a stale copy is kept; then makes the
   * upstream answer every request with {@code reply}.
   */
  private void keepFreshCopyThenAnswer(
      org.apache.hc.client5.http.impl.classic.CloseableHttpClient c, String reply)
      throws IOException {
    rescript(reply(200, "fresh", "Cache-Control: max-age=0, stale-if-error=600"));
    String first =
        c.execute(
            new org.apache.hc.client5.http.classic.methods.HttpGet(uri()),
            r -> org.apache.hc.core5.http.io.entity.EntityUtils.toString(r.getEntity()));
    assertThat(first).isEqualTo("fresh");
    rescript(reply);
  }

  @Test
  void apacheStaleCopyAfterAttemptsThatAnsweredIsTheCopyNotTheLastAnswer() throws Exception {
    try (org.apache.hc.client5.http.impl.classic.CloseableHttpClient c = apacheClient()) {
      keepFreshCopyThenAnswer(
          c, "HTTP/1.1 503 Down For Now\r\nRetry-After: 0\r\nContent-Length: 4\r\n\r\ndown");
      int before = requests.get();
      Result stale =
          c.execute(
              new org.apache.hc.client5.http.classic.methods.HttpGet(uri()),
              r -> {
                assertThat(r.getReasonPhrase())
                    .as("not the 503's status line")
                    .isNotEqualTo("Down For Now");
                return apacheResult(r);
              });
      assertThat(requests.get() - before)
          .as("the 503s were answered, then retried")
          .isGreaterThan(1);
      assertThat(stale.status()).isEqualTo(200);
      assertThat(stale.body()).isEqualTo("fresh");
      assertThat(stale.header().apply("Cache-Status")).contains("fwd-status=503");
    }
  }

  @Test
  void apacheStaleAnswerToAHeadHasNoEntity() throws Exception {
    try (org.apache.hc.client5.http.impl.classic.CloseableHttpClient c = apacheClient()) {
      keepFreshCopyThenAnswer(c, "RESET");
      String head =
          c.execute(
              new org.apache.hc.client5.http.classic.methods.HttpHead(uri()),
              r ->
                  r.getCode()
                      + " stale="
                      + (r.getFirstHeader("Cache-Status") != null)
                      + " entity="
                      + (r.getEntity() != null));
      assertThat(head).isEqualTo("200 stale=true entity=false");
    }
  }

  @Test
  void apacheBodilessResponsesAreAsPlainApacheGivesThem() throws Exception {
    Upstream up = upstream(policy(), System::nanoTime);
    org.apache.hc.core5.http.io.HttpClientResponseHandler<String> seen =
        r ->
            r.getCode()
                + " "
                + (r.getFirstHeader("Content-Type") == null
                    ? "-"
                    : r.getFirstHeader("Content-Type").getValue())
                + " entity="
                + (r.getEntity() != null);
    try (org.apache.hc.client5.http.impl.classic.CloseableHttpClient plain =
            org.apache.hc.client5.http.impl.classic.HttpClients.custom()
                .disableAutomaticRetries()
                .build();
        org.apache.hc.client5.http.impl.classic.CloseableHttpClient c = apacheBuilder(up).build()) {
      String[][] cases = { // method, the upstream's reply, what the caller sees
        {
          "HEAD",
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n",
          "200 application/json entity=false"
        },
        {"GET", "HTTP/1.1 204 No Content\r\n\r\n", "204 - entity=false"},
        {"GET", "HTTP/1.1 304 Not Modified\r\nETag: \"1\"\r\n\r\n", "304 - entity=false"},
        {"GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "200 - entity=true"}
      };
      for (String[] kase : cases) {
        rescript(kase[1]);
        String asPlain =
            plain.execute(
                new org.apache.hc.core5.http.message.BasicClassicHttpRequest(kase[0], uri()), seen);
        assertThat(
                c.execute(
                    new org.apache.hc.core5.http.message.BasicClassicHttpRequest(kase[0], uri()),
                    seen))
            .isEqualTo(asPlain)
            .isEqualTo(kase[2]);
      }
    }
  }

  @Test
  void apacheEntityLongerThanItsDeclaredLengthIsReadWhole() throws Exception {
    script.add(reply(200, "hello"));
    Upstream up = upstream(policy(), System::nanoTime);
    // a response interceptor below the handler that decodes the entity into more bytes without
    // changing its declared length (the wire's 5)
    org.apache.hc.core5.http.HttpResponseInterceptor decoding =
        (response, details, context) -> {
          org.apache.hc.core5.http.ClassicHttpResponse classic =
              (org.apache.hc.core5.http.ClassicHttpResponse) response;
          org.apache.hc.core5.http.HttpEntity wire = classic.getEntity();
          classic.setEntity(
              new org.apache.hc.core5.http.io.entity.HttpEntityWrapper(wire) {
                @Override
                public java.io.InputStream getContent() throws IOException {
                  return new java.io.SequenceInputStream(
                      super.getContent(),
                      new java.io.ByteArrayInputStream(
                          " and more".getBytes(StandardCharsets.US_ASCII)));
                }
              });
        };
    try (org.apache.hc.client5.http.impl.classic.CloseableHttpClient c =
        apacheBuilder(up).addResponseInterceptorLast(decoding).build()) {
      String body =
          c.execute(
              new org.apache.hc.client5.http.classic.methods.HttpGet(uri()),
              r -> org.apache.hc.core5.http.io.entity.EntityUtils.toString(r.getEntity()));
      assertThat(body).isEqualTo("hello and more");
    }
  }

  @Test
  void apacheRelativeRequestToAnExplicitHostIsKeptAndServedStale() throws Exception {
    script.add(reply(200, "catalogue"));
    Upstream up = upstream(policy(), System::nanoTime);
    org.apache.hc.core5.http.HttpHost host =
        new org.apache.hc.core5.http.HttpHost("http", "127.0.0.1", listener.getLocalPort());
    try (org.apache.hc.client5.http.impl.classic.CloseableHttpClient c =
        apacheBuilder(up).build()) {
      assertThat(
              c.execute(
                      host,
                      new org.apache.hc.client5.http.classic.methods.HttpGet("/item?page=1"),
                      AdapterConformanceTest::apacheResult)
                  .body())
          .isEqualTo("catalogue");
      rescript("RESET");
      assertThatThrownBy( // another query: no copy
              () ->
                  c.execute(
                      host,
                      new org.apache.hc.client5.http.classic.methods.HttpGet("/item?page=2"),
                      AdapterConformanceTest::apacheResult))
          .isInstanceOf(UpstreamException.class);
      Result stale =
          c.execute(
              host,
              new org.apache.hc.client5.http.classic.methods.HttpGet("/item?page=1"),
              AdapterConformanceTest::apacheResult);
      assertThat(stale.body()).isEqualTo("catalogue");
      assertThat(stale.header().apply("Cache-Status")).startsWith("Gatewarden;");
    }
  }

  @Test
  void apacheRequestTargetThatIsNoUriIsRefusedNotKeyedAsAnotherPage() throws Exception {
    try (org.apache.hc.client5.http.impl.classic.CloseableHttpClient c = apacheClient()) {
      org.apache.hc.core5.http.message.BasicClassicHttpRequest invalid =
          new org.apache.hc.core5.http.message.BasicClassicHttpRequest(
              "GET", "http://127.0.0.1:" + listener.getLocalPort() + "/search?q={x}");
      assertThatThrownBy(
              () ->
                  c.execute(
                      new org.apache.hc.core5.http.HttpHost(
                          "http", "127.0.0.1", listener.getLocalPort()),
                      invalid,
                      AdapterConformanceTest::apacheResult))
          .hasStackTraceContaining("invalid request target");
      assertThat(requests).hasValue(0);
    }
  }

  /** A RestClient over {@code factory} with these interceptors, outer first. */
  static org.springframework.web.client.RestClient springClient(
      org.springframework.http.client.ClientHttpRequestFactory factory,
      org.springframework.http.client.ClientHttpRequestInterceptor... interceptors) {
    org.springframework.web.client.RestClient.Builder b =
        org.springframework.web.client.RestClient.builder().requestFactory(factory);
    for (org.springframework.http.client.ClientHttpRequestInterceptor i : interceptors) {
      b.requestInterceptor(i);
    }
    return b.build();
  }

  static Result springResult(org.springframework.http.client.ClientHttpResponse res)
      throws IOException {
    String body = new String(res.getBody().readAllBytes(), StandardCharsets.UTF_8);
    org.springframework.http.HttpHeaders h = res.getHeaders();
    return new Result(res.getStatusCode().value(), body, h::getFirst, n -> h.getOrEmpty(n));
  }

  /** A RestClient call, with the I/O failure Spring wraps unwrapped. */
  static <T> T springCall(java.util.concurrent.Callable<T> call) throws Exception {
    try {
      return call.call();
    } catch (org.springframework.web.client.ResourceAccessException e) {
      throw e.getCause() instanceof IOException ? (IOException) e.getCause() : e;
    }
  }

  /** One GET through some client. */
  interface Get {
    Result get(URI uri) throws Exception;
  }

  /** A first call is answered and may be kept; then the upstream resets every connection. */
  private void assertJdkDoesNotKeep(HttpClient client) throws Exception {
    assertNotKeptAsAStaleCopy(
        uri ->
            jdkResult(
                client.send(
                    HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString())));
  }

  private void assertNotKeptAsAStaleCopy(Get c) throws Exception {
    assertThat(c.get(uri()).body()).isEqualTo("mine");
    rescript("RESET");
    assertThatThrownBy(() -> c.get(uri()))
        .as("a response to the client's own cookies is one user's: never served to another")
        .isInstanceOf(UpstreamException.class);
  }

  @Test
  void okHttpResponseToACookieFromItsJarIsNotKept() throws Exception {
    script.add(reply(200, "mine"));
    okhttp3.CookieJar jar =
        new okhttp3.CookieJar() {
          @Override
          public void saveFromResponse(okhttp3.HttpUrl url, java.util.List<okhttp3.Cookie> c) {}

          @Override
          public java.util.List<okhttp3.Cookie> loadForRequest(okhttp3.HttpUrl url) {
            return java.util.List.of(
                new okhttp3.Cookie.Builder()
                    .name("session")
                    .value("alice")
                    .domain(url.host())
                    .build());
          }
        };
    okhttp3.OkHttpClient client =
        okHttpBuilder(upstream(policy(), System::nanoTime)).cookieJar(jar).build();
    assertNotKeptAsAStaleCopy(
        uri -> {
          try (okhttp3.Response r =
              client.newCall(new okhttp3.Request.Builder().url(uri.toString()).build()).execute()) {
            return okResult(r);
          }
        });
    assertThat(heads.get(0)).contains("Cookie: session=alice");
  }

  /** A cookie store with alice's session cookie for {@code domain} and {@code path}. */
  private static org.apache.hc.client5.http.cookie.BasicCookieStore alicesCookie(
      String domain, String path) {
    org.apache.hc.client5.http.cookie.BasicCookieStore store =
        new org.apache.hc.client5.http.cookie.BasicCookieStore();
    org.apache.hc.client5.http.impl.cookie.BasicClientCookie cookie =
        new org.apache.hc.client5.http.impl.cookie.BasicClientCookie("session", "alice");
    cookie.setDomain(domain);
    cookie.setPath(path);
    store.addCookie(cookie);
    return store;
  }

  /** GETs through the client {@code builder} makes: {@code url}, or the test's own when null. */
  private void assertApacheDoesNotKeep(
      org.apache.hc.client5.http.impl.classic.HttpClientBuilder builder, String url)
      throws Exception {
    try (org.apache.hc.client5.http.impl.classic.CloseableHttpClient client = builder.build()) {
      assertNotKeptAsAStaleCopy(
          uri ->
              client.execute(
                  new org.apache.hc.client5.http.classic.methods.HttpGet(
                      url == null ? uri : URI.create(url)),
                  AdapterConformanceTest::apacheResult));
    }
  }

  @Test
  void apacheResponseToACookieFromItsStoreIsNotKept() throws Exception {
    script.add(reply(200, "mine"));
    org.apache.hc.client5.http.cookie.BasicCookieStore store = alicesCookie("127.0.0.1", "/");
    assertApacheDoesNotKeep(
        apacheBuilder(upstream(policy(), System::nanoTime)).setDefaultCookieStore(store), null);
    assertThat(heads.get(0)).contains("Cookie: session=alice");
  }

  /** A cookie for {@code /final} only: the first request carries none, the redirected one does. */
  private void redirectToWhereACookieGoes() {
    script.add(reply(302, "", "Location: " + uri("/final")));
    script.add(reply(200, "mine"));
  }

  private void assertOnlyTheRedirectCarriedTheCookie() {
    assertThat(heads.get(0)).doesNotContain("Cookie");
    assertThat(heads.get(1)).startsWith("GET /final").contains("Cookie: session=alice");
  }

  @Test
  void apacheResponseToACookieSentOnARedirectIsNotKept() throws Exception {
    redirectToWhereACookieGoes();
    org.apache.hc.client5.http.cookie.BasicCookieStore store = alicesCookie("127.0.0.1", "/final");
    assertApacheDoesNotKeep(
        apacheBuilder(upstream(policy(), System::nanoTime)).setDefaultCookieStore(store), null);
    assertOnlyTheRedirectCarriedTheCookie();
  }

  @Test
  void apacheResponseAfterARedirectHopThatCarriedACookieIsNotKept() throws Exception {
    // /item (no cookie) -> /mid (the cookie: it may choose where to send the user) -> /final
    script.add(reply(302, "", "Location: " + uri("/mid")));
    script.add(reply(302, "", "Location: " + uri("/final")));
    script.add(reply(200, "mine"));
    org.apache.hc.client5.http.cookie.BasicCookieStore store = alicesCookie("127.0.0.1", "/mid");
    assertApacheDoesNotKeep(
        apacheBuilder(upstream(policy(), System::nanoTime)).setDefaultCookieStore(store), null);
    assertThat(heads.get(1)).startsWith("GET /mid").contains("Cookie: session=alice");
    assertThat(heads.get(2)).startsWith("GET /final").doesNotContain("Cookie");
  }

  @Test
  void apacheResponseToACookieSentThroughAPlainProxyIsNotKept() throws Exception {
    script.add(reply(200, "mine")); // this server is the proxy: Apache sends it a copy
    org.apache.hc.client5.http.cookie.BasicCookieStore store = alicesCookie("upstream.test", "/");
    assertApacheDoesNotKeep(
        apacheBuilder(upstream(policy(), System::nanoTime))
            .setDefaultCookieStore(store)
            .setProxy(
                new org.apache.hc.core5.http.HttpHost(
                    "http", "127.0.0.1", listener.getLocalPort())),
        "http://upstream.test/item");
    assertThat(heads.get(0))
        .startsWith("GET http://upstream.test/item")
        .contains("Cookie: session=alice");
  }

  @Test
  void jdkResponseToACookieSentOnARedirectIsNotKept() throws Exception {
    redirectToWhereACookieGoes();
    java.net.CookieManager jar = new java.net.CookieManager(null, java.net.CookiePolicy.ACCEPT_ALL);
    java.net.HttpCookie cookie = new java.net.HttpCookie("session", "alice");
    cookie.setPath("/final");
    cookie.setVersion(0);
    jar.getCookieStore().add(uri("/final"), cookie);
    HttpClient client =
        ResilientHttpClient.wrap(
            HttpClient.newBuilder()
                .cookieHandler(jar)
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build(),
            upstream(policy(), System::nanoTime));
    assertJdkDoesNotKeep(client);
    assertOnlyTheRedirectCarriedTheCookie();
  }

  /** A PUT of "payload" from a stream: an entity Apache can send only once. */
  private org.apache.hc.client5.http.classic.methods.HttpPut streamedPut() {
    org.apache.hc.client5.http.classic.methods.HttpPut put =
        new org.apache.hc.client5.http.classic.methods.HttpPut(uri());
    put.setEntity(
        new org.apache.hc.core5.http.io.entity.InputStreamEntity(
            new java.io.ByteArrayInputStream("payload".getBytes(StandardCharsets.US_ASCII)),
            7,
            org.apache.hc.core5.http.ContentType.TEXT_PLAIN));
    return put;
  }

  @Test
  void apacheStreamedRequestBodyIsSentAgainOnATemporaryRedirect() throws Exception {
    script.add(reply(307, "", "Location: " + uri("/other")));
    script.add(reply(200, "stored"));
    try (org.apache.hc.client5.http.impl.classic.CloseableHttpClient c = apacheClient()) {
      org.apache.hc.client5.http.classic.methods.HttpPut put = streamedPut();
      Result r = c.execute(put, AdapterConformanceTest::apacheResult);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("stored");
    }
    assertThat(heads.get(1)).startsWith("PUT /other");
    assertThat(new String(bodies.get(1), StandardCharsets.US_ASCII))
        .as("the stream's bytes, though Apache rebuilds a redirect from the caller's request")
        .isEqualTo("payload");
  }

  @Test
  void apacheRequestEntitiesKeepTheirContentEncoding() throws Exception {
    script.add(reply(200, "ok"));
    byte[] gzipped;
    try (org.apache.hc.client5.http.impl.classic.CloseableHttpClient c = apacheClient()) {
      // a compressing wrapper (its getContent() throws: it can only be written)
      org.apache.hc.client5.http.classic.methods.HttpPost post =
          new org.apache.hc.client5.http.classic.methods.HttpPost(uri());
      post.setEntity( // over a stream, so it is buffered by writing it
          org.apache.hc.core5.http.io.entity.HttpEntities.gzip(
              new org.apache.hc.core5.http.io.entity.InputStreamEntity(
                  new java.io.ByteArrayInputStream("hello".getBytes(StandardCharsets.US_ASCII)),
                  5,
                  org.apache.hc.core5.http.ContentType.TEXT_PLAIN)));
      assertThat(c.execute(post, AdapterConformanceTest::apacheResult).body()).isEqualTo("ok");
      // a stream that is already encoded, sent once
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      try (java.util.zip.GZIPOutputStream zip = new java.util.zip.GZIPOutputStream(out)) {
        zip.write("again".getBytes(StandardCharsets.US_ASCII));
      }
      gzipped = out.toByteArray();
      post = new org.apache.hc.client5.http.classic.methods.HttpPost(uri());
      post.setEntity(
          new org.apache.hc.core5.http.io.entity.InputStreamEntity(
              new java.io.ByteArrayInputStream(gzipped),
              gzipped.length,
              org.apache.hc.core5.http.ContentType.TEXT_PLAIN,
              "gzip"));
      assertThat(c.execute(post, AdapterConformanceTest::apacheResult).body()).isEqualTo("ok");
    }
    for (int i = 0; i < 2; i++) {
      assertThat(heads.get(i)).containsIgnoringCase("Content-Encoding: gzip");
      try (java.util.zip.GZIPInputStream in =
          new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(bodies.get(i)))) {
        assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII))
            .isEqualTo(i == 0 ? "hello" : "again");
      }
    }
  }

  @Test
  void apacheClientsOwnShorterResponseTimeoutStillApplies() throws Exception {
    script.add("SLOW");
    Upstream up = upstream(patient().maxAttempts(1), System::nanoTime);
    long start = System.nanoTime();
    try (org.apache.hc.client5.http.impl.classic.CloseableHttpClient c =
        apacheBuilder(up)
            .setDefaultRequestConfig(
                org.apache.hc.client5.http.config.RequestConfig.custom()
                    .setResponseTimeout(org.apache.hc.core5.util.Timeout.ofMilliseconds(300))
                    .build())
            .build()) {
      assertFails(
          () ->
              c.execute(
                  new org.apache.hc.client5.http.classic.methods.HttpGet(uri()),
                  AdapterConformanceTest::apacheResult),
          FailureCause.TIMEOUT);
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .as("the client's 300 ms, not the policy's 5 s")
        .isLessThan(Duration.ofSeconds(3));
  }

  /** A slow upstream, a policy that would wait 5 s, and the meters of {@link #meters}. */
  private Upstream patientUpstream() {
    script.add("SLOW");
    return upstream(patient(), System::nanoTime, meters);
  }

  /**
   * Runs {@code call} on a thread of its own, cancels it with {@code cancel} once the upstream has
   * the request, and checks that the call ends at once with {@code expected} (as the client itself
   * reports a cancellation), once, counted as cancelled and not held against the upstream.
   */
  private void assertCancelledByTheCaller(
      java.util.concurrent.Callable<?> call,
      java.util.function.Consumer<Thread> cancel,
      Class<? extends Throwable> expected)
      throws Exception {
    assertCancelledByTheCaller(call, cancel, expected, 0);
  }

  private void assertCancelledByTheCaller(
      java.util.concurrent.Callable<?> call,
      java.util.function.Consumer<Thread> cancel,
      Class<? extends Throwable> expected,
      int upstreamFailures)
      throws Exception {
    java.util.concurrent.CompletableFuture<Throwable> outcome =
        new java.util.concurrent.CompletableFuture<>();
    Thread caller =
        new Thread(
            () -> {
              try {
                call.call();
                outcome.complete(null);
              } catch (Throwable t) {
                outcome.complete(t);
              }
            });
    caller.start();
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while ((requests.get() < 1
            || r4jTimer("resilience4j.circuitbreaker.calls", "failed").count() < upstreamFailures)
        && System.nanoTime() < until) {
      Thread.onSpinWait(); // until the call is where it should be cancelled
    }
    long start = System.nanoTime();
    cancel.accept(caller);
    Throwable thrown = outcome.get(10, TimeUnit.SECONDS);
    assertThat(thrown).isInstanceOf(expected).isNotInstanceOf(UpstreamException.class);
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .as("ended by the cancel, not by the 5 s timeout")
        .isLessThan(Duration.ofSeconds(3));
    assertThat(requests).as("not retried").hasValue(1);
    assertThat(requestTimer("cancelled", "none").count()).isEqualTo(1);
    assertThat(r4jTimer("resilience4j.circuitbreaker.calls", "failed").count())
        .as("the cancel is not held against the upstream")
        .isEqualTo(upstreamFailures);
  }

  @Test
  void jdkCallersInterruptEndsTheCallWithInterruptedException() throws Exception {
    HttpClient c = ResilientHttpClient.wrap(HttpClient.newHttpClient(), patientUpstream());
    assertCancelledByTheCaller(
        () -> c.send(HttpRequest.newBuilder(uri()).build(), HttpResponse.BodyHandlers.ofString()),
        Thread::interrupt,
        InterruptedException.class);
  }

  @Test
  void callersInterruptWhileWaitingForARetryEndsTheCall() throws Exception {
    // a 503 asks for 3 s: the interrupt comes while the engine waits, not during an exchange
    for (Adapter adapter : Adapter.values()) {
      synchronized (script) {
        script.clear();
        script.add(reply(503, "busy", "Retry-After: 3"));
        script.add(reply(200, "ok"));
      }
      requests.set(0);
      meters.clear();
      TestClient c = adapter.client(upstream(policy().stale(NO_STALE), System::nanoTime, meters));
      assertCancelledByTheCaller(
          () -> c.get(uri()),
          Thread::interrupt,
          adapter == Adapter.JDK
              ? InterruptedException.class
              : java.io.InterruptedIOException.class,
          1);
    }
  }

  @Test
  void callersInterruptDuringAnAttemptEndsTheCall() throws Exception {
    // Spring's JDK factory reports an interrupt as an I/O failure of its own. (OkHttp's blocking
    // reads do not answer interrupts at all: cancel an OkHttp call with Call.cancel().)
    for (Adapter adapter : java.util.List.of(Adapter.SPRING)) {
      rescript("SLOW");
      requests.set(0);
      meters.clear();
      TestClient c = adapter.client(upstream(patient(), System::nanoTime, meters));
      assertCancelledByTheCaller(
          () -> c.get(uri()), Thread::interrupt, java.io.InterruptedIOException.class);
    }
  }

  @Test
  void okHttpCallTimeoutIsATimeoutThatTheEngineDoesNotRetryPast() throws Exception {
    script.add("SLOW");
    okhttp3.OkHttpClient c =
        okHttpBuilder(upstream(patient(), System::nanoTime, meters))
            .callTimeout(Duration.ofMillis(400))
            .build();
    long start = System.nanoTime();
    Throwable thrown =
        org.assertj.core.api.Assertions.catchThrowable(
            () -> c.newCall(new okhttp3.Request.Builder().url(uri().toString()).build()).execute());
    assertThat(thrown).isInstanceOf(IOException.class); // OkHttp's "timeout", caused by ours
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
    assertThat(requests).hasValue(1);
    assertThat(r4jTimer("resilience4j.circuitbreaker.calls", "failed").count())
        .as("no attempt after OkHttp's call timeout (it would fail at once on the cancelled call)")
        .isEqualTo(1);
    assertThat(requestTimer("failure", "timeout").count()).isEqualTo(1);
    assertThat(meters.find("gatewarden.client.requests").tag("outcome", "cancelled").timer())
        .isNull();
  }

  @Test
  void apacheCancelWhileWaitingForAPooledConnectionIsTheCallersCancel() throws Exception {
    script.add("SLOW"); // the first call holds the pool's only connection
    Upstream up = upstream(patient().maxAttempts(1), System::nanoTime, meters);
    org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager connections =
        singleConnection();
    try (org.apache.hc.client5.http.impl.classic.CloseableHttpClient c =
        apacheBuilder(up).setConnectionManager(connections).build()) {
      java.util.concurrent.Future<?> holder = holdTheConnection(c);
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      org.apache.hc.client5.http.classic.methods.HttpGet waiting =
          new org.apache.hc.client5.http.classic.methods.HttpGet(uri());
      java.util.concurrent.Future<Throwable> second =
          pool.submit(
              () -> {
                try {
                  c.execute(waiting, r -> r.getCode());
                  return null;
                } catch (Throwable t) {
                  return t;
                }
              });
      while (connections.getTotalStats().getPending() < 1 && System.nanoTime() < until) {
        Thread.onSpinWait(); // until it waits for the pool's only connection
      }
      assertThat(connections.getTotalStats().getPending()).isEqualTo(1);
      waiting.cancel();
      assertThat(second.get(10, TimeUnit.SECONDS))
          .as("Apache's own exception for a cancel, not an unchecked one")
          .isInstanceOf(IOException.class)
          .isNotInstanceOf(UpstreamException.class);
      assertThat(requestTimer("cancelled", "none").count()).isEqualTo(1);
      release.countDown();
      holder.get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void apacheStreamedRequestBodyIsSentWholeOnEveryAttempt() throws Exception {
    script.add(reply(503, "busy"));
    script.add(reply(200, "stored"));
    try (org.apache.hc.client5.http.impl.classic.CloseableHttpClient c = apacheClient()) {
      org.apache.hc.client5.http.classic.methods.HttpPut put = streamedPut();
      assertThat(c.execute(put, AdapterConformanceTest::apacheResult).body()).isEqualTo("stored");
    }
    for (int i = 0; i < 2; i++) {
      assertThat(new String(bodies.get(i), StandardCharsets.US_ASCII)).isEqualTo("payload");
      assertThat(heads.get(i).toLowerCase(java.util.Locale.ROOT).split("content-length:", -1))
          .as("one Content-Length: %s", heads.get(i))
          .hasSize(2);
    }
  }

  @Test
  void jdkAsyncSendCancelledWithInterruptEndsTheCallThroughADerivedStageToo() throws Exception {
    HttpClient c = ResilientHttpClient.wrap(HttpClient.newHttpClient(), patientUpstream());
    java.util.concurrent.CompletableFuture<HttpResponse<String>> sent =
        c.sendAsync(HttpRequest.newBuilder(uri()).build(), HttpResponse.BodyHandlers.ofString());
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (requests.get() < 1 && System.nanoTime() < until) {
      Thread.onSpinWait();
    }
    long start = System.nanoTime();
    // a stage derived from it, as with the JDK client's own: cancelling it cancels the call
    assertThat(sent.thenApply(HttpResponse::body).cancel(true)).isTrue();
    assertThat(sent.isCancelled()).isTrue();
    while (meters.find("gatewarden.client.requests").tag("outcome", "cancelled").timer() == null
        && System.nanoTime() < until) {
      Thread.onSpinWait(); // until the call on the wrapper's thread has ended
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .as("ended by the cancel, not by the 5 s timeout")
        .isLessThan(Duration.ofSeconds(3));
    assertThat(requestTimer("cancelled", "none").count()).isEqualTo(1);
    assertThat(requests).as("not retried").hasValue(1);
  }

  @Test
  void apacheCallersCancelEndsTheCallAsApacheReportsIt() throws Exception {
    org.apache.hc.client5.http.classic.methods.HttpGet get =
        new org.apache.hc.client5.http.classic.methods.HttpGet(uri());
    try (org.apache.hc.client5.http.impl.classic.CloseableHttpClient c =
        apacheBuilder(patientUpstream()).build()) {
      assertCancelledByTheCaller(
          () -> c.execute(get, AdapterConformanceTest::apacheResult),
          thread -> get.cancel(),
          IOException.class);
    }
  }

  @Test
  void okHttpCallersCancelEndsTheCallAsOkHttpReportsIt() throws Exception {
    okhttp3.OkHttpClient c = okHttpBuilder(patientUpstream()).build();
    okhttp3.Call call = c.newCall(new okhttp3.Request.Builder().url(uri().toString()).build());
    assertCancelledByTheCaller(
        () -> {
          try (okhttp3.Response r = call.execute()) {
            return r.code();
          }
        },
        thread -> call.cancel(),
        IOException.class);
  }

  @Test
  void jdkAsyncSendDoesNotWaitOnTheWrappedClientsOwnExecutor() throws Exception {
    script.add(reply(200, "async ok"));
    ExecutorService one = Executors.newFixedThreadPool(1);
    try {
      HttpClient c =
          ResilientHttpClient.wrap(
              HttpClient.newBuilder().executor(one).build(),
              upstream(policy().stale(NO_STALE), System::nanoTime));
      HttpResponse<String> r =
          c.sendAsync(HttpRequest.newBuilder(uri()).build(), HttpResponse.BodyHandlers.ofString())
              .get(10, TimeUnit.SECONDS);
      assertThat(r.body()).isEqualTo("async ok");
      assertThat(requests).as("answered at the first attempt, not after timeouts").hasValue(1);
    } finally {
      one.shutdownNow();
    }
  }

  @Test
  @org.junit.jupiter.api.condition.EnabledForJreRange(
      min = org.junit.jupiter.api.condition.JRE.JAVA_21)
  void jdkWrapperClosesTheWrappedClient() throws Exception {
    HttpClient inner = HttpClient.newHttpClient();
    ResilientHttpClient c =
        (ResilientHttpClient) ResilientHttpClient.wrap(inner, upstream(policy(), System::nanoTime));
    java.lang.reflect.Method isTerminated = HttpClient.class.getMethod("isTerminated");
    assertThat((boolean) isTerminated.invoke(inner)).isFalse();
    c.close();
    assertThat((boolean) isTerminated.invoke(inner)).isTrue();
    assertThat(c.isTerminated()).isTrue();
  }

  @Test
  void jdkResponseToACookieFromItsHandlerIsNotKept() throws Exception {
    script.add(reply(200, "mine"));
    java.net.CookieManager jar = new java.net.CookieManager(null, java.net.CookiePolicy.ACCEPT_ALL);
    java.net.HttpCookie cookie = new java.net.HttpCookie("session", "alice");
    cookie.setPath("/");
    cookie.setVersion(0);
    jar.getCookieStore().add(uri(), cookie);
    HttpClient client =
        ResilientHttpClient.wrap(
            HttpClient.newBuilder().cookieHandler(jar).build(),
            upstream(policy(), System::nanoTime));
    assertJdkDoesNotKeep(client);
    assertThat(heads.get(0)).contains("Cookie: session=alice");
  }

  @Test
  void springResponseToCredentialsALaterInterceptorAddsIsNotKept() throws Exception {
    script.add(reply(200, "mine"));
    // The interceptor reads Spring's own request headers, not a copy taken before the chain
    // went on: credentials that an interceptor after it adds are seen by the no-store rules.
    org.springframework.web.client.RestClient client =
        springClient(
            new org.springframework.http.client.JdkClientHttpRequestFactory(),
            new SpringClientInterceptor(upstream(policy(), System::nanoTime)),
            (request, body, execution) -> {
              request.getHeaders().setBearerAuth("alice-token");
              return execution.execute(request, body);
            });
    assertNotKeptAsAStaleCopy(
        uri -> springCall(() -> client.get().uri(uri).exchange((req, res) -> springResult(res))));
    assertThat(heads.get(0)).contains("Authorization: Bearer alice-token");
  }

  @Test
  void springReadsABodyWhoseContentLengthIsNoNumberAsItsFactoryDoes() throws Exception {
    // HttpURLConnection (Spring's simple factory) reads such a body to the end of the connection;
    // the length is only a hint to the adapter, never a reason to fail the call
    script.add("HTTP/1.1 200 OK\r\nContent-Length: 4x\r\nConnection: close\r\n\r\nmine");
    org.springframework.web.client.RestClient client =
        springClient(
            new org.springframework.http.client.SimpleClientHttpRequestFactory(),
            new SpringClientInterceptor(upstream(policy(), System::nanoTime)));
    // (read through exchange: RestClient's own retrieve() would refuse such a header itself)
    Result r = client.get().uri(uri()).exchange((req, res) -> springResult(res));
    assertThat(r.body()).isEqualTo("mine");
  }

  @Test
  void jdkWrapperSendsABodilessRequestAsTheRawClientDoes() throws Exception {
    // The JDK 17 client sends Content-Length: 0 with a GET, DELETE or HEAD; later ones send none
    // (so this test tells the difference on the newer JDK that .ci/run also uses): either way the
    // wrapper must send what the raw client sends.
    java.util.List<HttpRequest.Builder> requests = new java.util.ArrayList<>();
    requests.add(HttpRequest.newBuilder(uri()).GET());
    requests.add(HttpRequest.newBuilder(uri()).DELETE());
    try { // HEAD() from JDK 18 on, called through reflection: this code is compiled for 17
      requests.add(
          (HttpRequest.Builder)
              HttpRequest.Builder.class.getMethod("HEAD").invoke(HttpRequest.newBuilder(uri())));
    } catch (NoSuchMethodException jdk17) {
      requests.add(
          HttpRequest.newBuilder(uri()).method("HEAD", HttpRequest.BodyPublishers.noBody()));
    }
    HttpClient raw = HttpClient.newHttpClient();
    HttpClient wrapped =
        ResilientHttpClient.wrap(HttpClient.newHttpClient(), upstream(policy(), System::nanoTime));
    for (HttpRequest.Builder b : requests) {
      HttpRequest request = b.header("X-Trace", "t").build();
      heads.clear();
      script.add(reply(200, ""));
      raw.send(request, HttpResponse.BodyHandlers.ofString());
      wrapped.send(request, HttpResponse.BodyHandlers.ofString());
      // the same head but for the port in Host
      assertThat(heads).hasSize(2);
      assertThat(heads.get(1).replaceAll("Host: .*", ""))
          .as(request.method())
          .isEqualTo(heads.get(0).replaceAll("Host: .*", ""));
    }
  }

  @Test
  void jdkRequestTimeoutShorterThanTheAttemptsCapsEachAttempt() {
    script.add("SLOW");
    HttpClient c =
        ResilientHttpClient.wrap(
            HttpClient.newHttpClient(), upstream(policy().maxAttempts(1), System::nanoTime));
    HttpRequest request = HttpRequest.newBuilder(uri()).timeout(Duration.ofMillis(120)).build();
    UpstreamException e =
        assertFails(
            () -> c.send(request, HttpResponse.BodyHandlers.ofString()), FailureCause.TIMEOUT);
    assertThat(e).hasMessageContaining("within PT0.12S"); // not the policy's 300 ms
  }

  /** Apache's pool with a single connection. */
  private static org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager
      singleConnection() {
    org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager connections =
        new org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager();
    connections.setMaxTotal(1);
    connections.setDefaultMaxPerRoute(1);
    return connections;
  }

  /**
   * A call, on the suite's threads, that holds {@code c}'s only connection at the (slow) upstream;
   * returns once the upstream has its request. Its own outcome is not the point.
   */
  private java.util.concurrent.Future<?> holdTheConnection(
      org.apache.hc.client5.http.impl.classic.CloseableHttpClient c) {
    java.util.concurrent.Future<?> holder =
        pool.submit(
            () -> {
              try {
                return c.execute(
                    new org.apache.hc.client5.http.classic.methods.HttpGet(uri()),
                    r -> r.getCode());
              } catch (IOException expected) {
                return -1;
              }
            });
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (requests.get() < 1 && System.nanoTime() < until) {
      Thread.onSpinWait();
    }
    return holder;
  }

  @Test
  void apacheWaitForAPooledConnectionIsBoundedByTheAttemptTimeout() throws Exception {
    script.add("SLOW"); // the first call holds the pool's only connection for 2 s
    Upstream up =
        Upstream.builder(
                policy()
                    .maxAttempts(1)
                    .attemptTimeout(Duration.ofSeconds(2))
                    .totalTimeout(Duration.ofSeconds(2))
                    .stale(NO_STALE)
                    .build())
            .meterRegistry(new SimpleMeterRegistry())
            .build();
    org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager connections =
        singleConnection();
    try (org.apache.hc.client5.http.impl.classic.CloseableHttpClient c =
        apacheBuilder(up).setConnectionManager(connections).build()) {
      java.util.concurrent.Future<?> holder = holdTheConnection(c);
      long start = System.nanoTime();
      Deadline.Scope scope = Deadline.after(Duration.ofMillis(300)).makeCurrent();
      try {
        assertFails(
            () ->
                c.execute(
                    new org.apache.hc.client5.http.classic.methods.HttpGet(uri()),
                    r -> r.getCode()),
            FailureCause.TIMEOUT);
      } finally {
        scope.close();
      }
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .as("bounded by this call's 300 ms, not by the 2 s the connection is held")
          .isLessThan(Duration.ofMillis(1500));
      release.countDown();
      holder.get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void jdkAsyncSendKeepsTheCallersDeadline() throws Exception {
    script.add("SLOW");
    HttpClient c =
        ResilientHttpClient.wrap(HttpClient.newHttpClient(), upstream(patient(), System::nanoTime));
    long start = System.nanoTime();
    java.util.concurrent.CompletableFuture<HttpResponse<String>> sent;
    Deadline.Scope scope = Deadline.after(Duration.ofMillis(400)).makeCurrent();
    try {
      sent =
          c.sendAsync(HttpRequest.newBuilder(uri()).build(), HttpResponse.BodyHandlers.ofString());
    } finally {
      scope.close();
    }
    assertThatThrownBy(() -> sent.get(10, TimeUnit.SECONDS))
        .hasCauseInstanceOf(UpstreamException.class)
        .satisfies(
            e ->
                assertThat(((UpstreamException) e.getCause()).failureCause())
                    .isEqualTo(FailureCause.TIMEOUT));
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .as("capped by the caller's 400 ms deadline, not the policy's 5 s")
        .isLessThan(Duration.ofSeconds(3));
  }

  @Test
  void springWithHttpUrlConnectionTreatsABodyShorterThanItsContentLengthAsInvalid()
      throws Exception {
    // RestTemplate's default factory: HttpURLConnection ends a body cut short without an error,
    // encoded or not (it never decodes)
    for (String encoding : java.util.List.of("", "Content-Encoding: gzip\r\n")) {
      synchronized (script) {
        script.clear();
        script.add(
            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
                + encoding
                + "Connection: close\r\n\r\nonly a part");
      }
      requests.set(0);
      org.springframework.web.client.RestClient c = simpleFactoryClient();
      assertThat(
              assertFails(
                      () ->
                          springCall(
                              () -> c.get().uri(uri()).exchange((req, res) -> springResult(res))),
                      FailureCause.INVALID_RESPONSE)
                  .attempts())
          .as("with %s", encoding.isEmpty() ? "no encoding" : encoding.trim())
          .isEqualTo(2);
      assertThat(requests).hasValue(2);
    }
    // a reply that is not HTTP: HttpURLConnection's status -1, which Spring cannot represent
    rescript("GARBAGE");
    org.springframework.web.client.RestClient garbage = simpleFactoryClient();
    assertFails(
        () -> springCall(() -> garbage.get().uri(uri()).exchange((req, res) -> springResult(res))),
        FailureCause.INVALID_RESPONSE);
    // chunked framing overrides a Content-Length: a whole chunked body is whole
    synchronized (script) {
      script.clear();
      script.add(
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 100\r\n\r\n"
              + "5\r\nhello\r\n0\r\n\r\n");
    }
    org.springframework.web.client.RestClient c = simpleFactoryClient();
    Result r = springCall(() -> c.get().uri(uri()).exchange((req, res) -> springResult(res)));
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("hello");
  }

  private static org.springframework.web.client.RestClient simpleFactoryClient() {
    return springClient(
        new org.springframework.http.client.SimpleClientHttpRequestFactory(),
        new SpringClientInterceptor(
            upstream(policy().maxAttempts(2).stale(NO_STALE), System::nanoTime)));
  }

  @Test
  void jdkAsyncSendGoesThroughTheSamePolicies() throws Exception {
    script.add(reply(503, "busy"));
    script.add(reply(200, "async ok"));
    Upstream up =
        Upstream.builder(policy().backoff(Duration.ofMillis(1), Duration.ofMillis(5)).build())
            .meterRegistry(new SimpleMeterRegistry())
            .build();
    HttpResponse<String> r =
        ResilientHttpClient.wrap(HttpClient.newHttpClient(), up)
            .sendAsync(HttpRequest.newBuilder(uri()).build(), HttpResponse.BodyHandlers.ofString())
            .get(10, TimeUnit.SECONDS);
    assertThat(r.body()).isEqualTo("async ok");
    assertThat(requests).hasValue(2);
  }
}
