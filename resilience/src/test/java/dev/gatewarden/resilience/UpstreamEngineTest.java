package dev.gatewarden.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The engine's decisions with a scripted in-memory transport and a fake clock: what is retried, how
 * often, how long it waits, when the breaker opens, when a stale copy is served. Real-socket
 * behaviour of each adapter is covered by the conformance suite.
 */
class UpstreamEngineTest {
  private static final URI ITEM = URI.create("http://inventory.test/item/1");

  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final Deque<Object> script = new ArrayDeque<>();
  private final AtomicInteger sent = new AtomicInteger();

  /** Each attempt takes the next scripted response or exception; the last one repeats. */
  private final Transport transport =
      (request, timeout) -> {
        sent.incrementAndGet();
        Object next = script.size() > 1 ? script.poll() : script.peek();
        if (next instanceof IOException) {
          throw (IOException) next;
        }
        return (ClientResponse) next;
      };

  private static ClientResponse status(int code, String... headers) {
    Map<String, List<String>> h = new java.util.HashMap<>();
    for (int i = 0; i < headers.length; i += 2) {
      h.put(headers[i], List.of(headers[i + 1]));
    }
    return ClientResponse.of(code, h, ("status " + code).getBytes(StandardCharsets.UTF_8));
  }

  private Upstream upstream(UpstreamPolicy.Builder policy) {
    return Upstream.builder(policy.backoff(Duration.ofMillis(1), Duration.ofMillis(2)).build())
        .meterRegistry(registry)
        .nanoTime(now::get)
        .build();
  }

  @Test
  void retriesAn503AndReturnsTheSuccess() throws Exception {
    script.add(status(503));
    script.add(status(200));
    ClientResponse r =
        upstream(UpstreamPolicy.builder("inv")).execute(ClientRequest.get(ITEM), transport);
    assertThat(r.status()).isEqualTo(200);
    assertThat(sent).hasValue(2);
    assertThat(registry.get("gatewarden.client.retries").counter().count()).isEqualTo(1);
    assertThat(registry.get("gatewarden.client.requests").tag("outcome", "success").timer().count())
        .isEqualTo(1);
  }

  @Test
  void aBugBelowTheEngineIsCountedAsApplicationAndRethrownAsItIs() {
    Upstream up = upstream(UpstreamPolicy.builder("inv"));
    for (Throwable bug :
        List.of(new IllegalStateException("interceptor bug"), new NoClassDefFoundError("okio"))) {
      assertThatThrownBy(
              () ->
                  up.execute(
                      ClientRequest.get(ITEM),
                      (request, timeout) -> {
                        sent.incrementAndGet();
                        if (bug instanceof Error) {
                          throw (Error) bug;
                        }
                        throw (RuntimeException) bug;
                      }))
          .isSameAs(bug);
    }
    assertThat(sent).as("neither retried").hasValue(2);
    assertThat(applicationFailures()).isEqualTo(2);
    assertThat(breakerCalls("failed")).as("not held against the upstream").isZero();
    assertThat(breakerCalls("ignored")).isEqualTo(2);
  }

  @Test
  void aBugBelowTheEngineReturnsTheBreakersPermissionWithoutCountingAFailure() throws Exception {
    // Half open, the breaker has two trial permits: a bug that kept them, or that counted as the
    // upstream's failure, would leave the later calls refused with CIRCUIT_OPEN.
    java.util.concurrent.atomic.AtomicReference<String> bug =
        new java.util.concurrent.atomic.AtomicReference<>("");
    Upstream up =
        upstream(
            UpstreamPolicy.builder("inv")
                .maxAttempts(1)
                .circuitBreaker(50, 2, 2, Duration.ofSeconds(10))
                .validator(
                    r -> {
                      if (bug.get().equals("validator")) {
                        throw new IllegalArgumentException("validator bug");
                      }
                      return null;
                    }));
    Transport buggy =
        (request, timeout) -> {
          if (bug.get().equals("transport")) {
            sent.incrementAndGet();
            throw new IllegalStateException("transport bug");
          }
          return transport.send(request, timeout);
        };
    script.add(status(500));
    up.execute(ClientRequest.get(ITEM), buggy);
    up.execute(ClientRequest.get(ITEM), buggy);
    assertThat(up.breakerState()).isEqualTo("OPEN");
    now.addAndGet(Duration.ofSeconds(11).toNanos());
    script.clear();
    script.add(status(200));
    for (String where : List.of("transport", "transport", "validator", "validator")) {
      bug.set(where);
      assertThatThrownBy(() -> up.execute(ClientRequest.get(ITEM), buggy))
          .hasMessage(where + " bug");
    }
    assertThat(sent).as("every call reached the transport").hasValue(6);
    assertThat(up.breakerState()).isEqualTo("HALF_OPEN");
    assertThat(applicationFailures()).isEqualTo(4);
    assertThat(breakerCalls("ignored")).as("Resilience4j's own count of them").isEqualTo(4);
    bug.set("");
    up.execute(ClientRequest.get(ITEM), buggy);
    up.execute(ClientRequest.get(ITEM), buggy);
    assertThat(up.breakerState()).as("the two trial calls were still there").isEqualTo("CLOSED");
  }

  @Test
  void aFailureStatusAtTheLastAttemptCountsAsFailedWithRetryWhateverItsRetryAfter()
      throws Exception {
    script.add(status(503));
    script.add(status(503, "Retry-After", "3600")); // beyond the cap: not waited for either way
    Upstream up = upstream(UpstreamPolicy.builder("inv").maxAttempts(2));
    assertThat(up.execute(ClientRequest.get(ITEM), transport).status()).isEqualTo(503);
    assertThat(sent).hasValue(2);
    assertThat(
            registry
                .get("resilience4j.retry.calls")
                .tag("name", "inv")
                .tag("kind", "failed_with_retry")
                .functionCounter()
                .count())
        .isEqualTo(1);
  }

  private long breakerCalls(String kind) {
    return registry
        .get("resilience4j.circuitbreaker.calls")
        .tag("name", "inv")
        .tag("kind", kind)
        .timer()
        .count();
  }

  private long applicationFailures() {
    return registry
        .get("gatewarden.client.requests")
        .tag("outcome", "failure")
        .tag("cause", "application")
        .timer()
        .count();
  }

  @Test
  void dnsAndTlsNameTheConnectionFailureThatCarriesThem() {
    // the JDK client's report of an unresolvable host
    java.net.ConnectException jdk = new java.net.ConnectException();
    jdk.initCause(new java.nio.channels.UnresolvedAddressException());
    assertThat(Upstream.classify(jdk)).isEqualTo(FailureCause.DNS);
    assertThat(
            FailureCause.classify(
                new IOException(
                    "connect failed",
                    new java.net.ConnectException("resolving")
                        .initCause(new java.net.UnknownHostException("x.invalid")))))
        .isEqualTo(FailureCause.DNS);
    assertThat(
            FailureCause.classify(
                new java.net.ConnectException("handshake")
                    .initCause(new javax.net.ssl.SSLHandshakeException("bad certificate"))))
        .isEqualTo(FailureCause.TLS);
    // a timeout stays one, whatever it cut short (a handshake, say)
    assertThat(
            FailureCause.classify(
                new java.net.SocketTimeoutException("request timed out")
                    .initCause(new javax.net.ssl.SSLException("closed during the handshake"))))
        .isEqualTo(FailureCause.TIMEOUT);
    // a Gatewarden client's failure that the app let escape keeps the cause it was given
    assertThat(
            FailureCause.classify(
                new RuntimeException(
                    "page failed",
                    new UpstreamException(
                        "inventory",
                        FailureCause.INVALID_RESPONSE,
                        2,
                        "garbage",
                        new org.apache.hc.core5.http.NoHttpResponseException("no response")))))
        .isEqualTo(FailureCause.INVALID_RESPONSE);
    assertThat(
            FailureCause.classify(
                TransportException.timedOut(
                    "response not received",
                    Duration.ofSeconds(1),
                    new java.net.UnknownHostException("slow resolver"))))
        .isEqualTo(FailureCause.TIMEOUT);
    // the first of two named causes still wins otherwise, and a database error wins over all
    assertThat(
            FailureCause.classify(
                new java.net.SocketTimeoutException("read")
                    .initCause(new java.net.ConnectException("refused"))))
        .isEqualTo(FailureCause.TIMEOUT);
    assertThat(
            FailureCause.classify(
                new java.sql.SQLException("pool", new java.net.UnknownHostException("db"))))
        .isEqualTo(FailureCause.DATABASE);
    assertThat(Upstream.classify(new java.net.ConnectException("refused")))
        .isEqualTo(FailureCause.CONNECT);
  }

  @Test
  void unclassifiedIoFailuresAreNamedByWhereTheyCameFrom() {
    // A reply that is not valid HTTP, from any client.
    assertThat(Upstream.classify(new java.net.ProtocolException("Invalid status line")))
        .isEqualTo(FailureCause.INVALID_RESPONSE);
    // The JDK client's body parser may fail the send itself when the headers and a broken chunk
    // arrive together (seen through Spring's JdkClientHttpRequestFactory): still the reply's fault.
    IOException chunk = new IOException("Illegal character in chunk size: 90");
    chunk.setStackTrace(
        new StackTraceElement[] {
          new StackTraceElement(
              "jdk.internal.net.http.ResponseContent$ChunkedBodyParser",
              "tryReadChunkLen",
              "ResponseContent.java",
              282)
        });
    assertThat(Upstream.classify(chunk)).isEqualTo(FailureCause.INVALID_RESPONSE);
    // Anything else unnamed broke the connection before a usable reply.
    assertThat(Upstream.classify(new IOException("Illegal character in chunk size: 90")))
        .isEqualTo(FailureCause.CONNECT);
    assertThat(Upstream.classify(new java.io.InterruptedIOException()))
        .isEqualTo(FailureCause.TIMEOUT);
  }

  @Test
  void eachFailedCallIsOneIncidentLineWithCauseAnswerAndRemedy() throws Exception {
    ch.qos.logback.classic.Logger log =
        (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("dev.gatewarden.client");
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> lines =
        new ch.qos.logback.core.read.ListAppender<>();
    lines.start();
    log.addAppender(lines);
    try {
      Upstream up = upstream(UpstreamPolicy.builder("inv").maxAttempts(2));
      URI withSecret = URI.create("http://inventory.test/item/1?token=s3cret");
      script.add(status(200));
      up.execute(ClientRequest.get(withSecret), transport); // fine: no line
      assertThat(lines.list).isEmpty();

      script.clear();
      script.add(new ConnectException("Connection refused\r\nforged line"));
      up.execute(ClientRequest.get(withSecret), transport); // answered from the stale copy
      assertThatThrownBy(() -> up.execute(ClientRequest.of("PUT", ITEM, Map.of(), null), transport))
          .isInstanceOf(UpstreamException.class);

      assertThat(lines.list).hasSize(2);
      assertThat(lines.list)
          .allSatisfy(e -> assertThat(e.getLevel()).isEqualTo(ch.qos.logback.classic.Level.WARN));
      String stale = lines.list.get(0).getFormattedMessage();
      String error = lines.list.get(1).getFormattedMessage();
      assertThat(stale)
          .startsWith("gatewarden upstream incident: GET http://inventory.test/item/1 upstream=inv")
          .contains("cause=connect", "answered=stale", "attempts=2", "remedy=\"")
          .doesNotContain("s3cret", "\r", "\n");
      assertThat(error)
          .startsWith("gatewarden upstream incident: PUT http://inventory.test/item/1 upstream=inv")
          .contains("cause=connect", "answered=error", "Connection refused??forged line");
    } finally {
      log.detachAppender(lines);
    }
  }

  @Test
  void postIsSentExactlyOnceByDefault() throws Exception {
    script.add(status(503));
    ClientRequest post =
        ClientRequest.of("POST", ITEM, Map.of(), "order".getBytes(StandardCharsets.UTF_8));
    ClientResponse r = upstream(UpstreamPolicy.builder("inv")).execute(post, transport);
    assertThat(r.status()).isEqualTo(503);
    assertThat(sent).hasValue(1);
  }

  @Test
  void postWithIdempotencyKeyIsRetriedWhenTheUpstreamOptsIn() throws Exception {
    script.add(status(503));
    script.add(status(201));
    ClientRequest post =
        ClientRequest.of("POST", ITEM, Map.of("Idempotency-Key", List.of("k1")), new byte[] {1});
    ClientResponse r =
        upstream(UpstreamPolicy.builder("inv").retryWithIdempotencyKey(true))
            .execute(post, transport);
    assertThat(r.status()).isEqualTo(201);
    assertThat(sent).hasValue(2);
  }

  @Test
  void refusedConnectionIsRetriedEvenForPostBecauseNothingWasSent() throws Exception {
    script.add(new ConnectException("Connection refused"));
    script.add(status(201));
    ClientRequest post = ClientRequest.of("POST", ITEM, Map.of(), new byte[] {1});
    assertThat(upstream(UpstreamPolicy.builder("inv")).execute(post, transport).status())
        .isEqualTo(201);
  }

  @Test
  void givesUpAfterMaxAttemptsWithTheCause() {
    script.add(new ConnectException("Connection refused"));
    Upstream up = upstream(UpstreamPolicy.builder("inv").maxAttempts(3));
    assertThatThrownBy(() -> up.execute(ClientRequest.get(ITEM), transport))
        .isInstanceOfSatisfying(
            UpstreamException.class,
            e -> {
              assertThat(e.failureCause()).isEqualTo(FailureCause.CONNECT);
              assertThat(e.attempts()).isEqualTo(3);
              assertThat(e.getMessage()).contains("inv").contains("connect");
            });
    assertThat(sent).hasValue(3);
  }

  @Test
  void retryAfterBeyondTheCapEndsTheCallInsteadOfSleeping() throws Exception {
    script.add(status(503, "Retry-After", "3600"));
    ClientResponse r =
        upstream(UpstreamPolicy.builder("inv")).execute(ClientRequest.get(ITEM), transport);
    assertThat(r.status()).isEqualTo(503);
    assertThat(sent).hasValue(1);
  }

  @Test
  void malformedOrNegativeRetryAfterFallsBackToBackoff() throws Exception {
    for (String bad : new String[] {"-5", "soon", "99999999999999999999"}) {
      script.clear();
      sent.set(0);
      script.add(status(503, "Retry-After", bad));
      script.add(status(200));
      long start = System.nanoTime();
      ClientResponse r =
          upstream(UpstreamPolicy.builder("inv")).execute(ClientRequest.get(ITEM), transport);
      assertThat(r.status()).as(bad).isEqualTo(200); // retried: a value beyond the cap ends it
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .as("%s: the backoff (at most 1 s), never a sleep on the value", bad)
          .isLessThan(Duration.ofSeconds(3));
    }
  }

  @Test
  void failsFastWithoutCallingWhenTheDeadlineIsAlmostGone() {
    script.add(status(200));
    Upstream up = upstream(UpstreamPolicy.builder("inv"));
    Deadline.Scope scope = Deadline.after(Duration.ofMillis(5), now::get).makeCurrent();
    try {
      assertThatThrownBy(() -> up.execute(ClientRequest.get(ITEM), transport))
          .isInstanceOfSatisfying(
              UpstreamException.class,
              e -> assertThat(e.failureCause()).isEqualTo(FailureCause.TIMEOUT));
    } finally {
      scope.close();
    }
    assertThat(sent).hasValue(0);
  }

  @Test
  void retryBudgetBoundsRetriesDuringAnOutage() {
    script.add(status(503));
    Upstream up =
        upstream(
            UpstreamPolicy.builder("inv")
                .maxAttempts(3)
                .retryBudget(0.2, 0)
                .circuitBreaker(100, 1000, 1000, Duration.ofSeconds(30)));
    int callers = 500;
    for (int i = 0; i < callers; i++) {
      try {
        up.execute(ClientRequest.get(URI.create("http://inventory.test/item/" + i)), transport);
      } catch (UpstreamException e) {
        // the breaker may open; counted below either way
      }
    }
    // Without the budget 500 callers would make 1,500 attempts; with it, about 20 % more than 500.
    assertThat(sent.get()).isBetween(callers + 90, (int) (callers * 1.2) + 1);
  }

  @Test
  void breakerOpensAndRecoversAfterItsOpenPeriod() throws Exception {
    script.add(status(500));
    Upstream up =
        upstream(
            UpstreamPolicy.builder("inv")
                .maxAttempts(1)
                .circuitBreaker(50, 10, 10, Duration.ofSeconds(30))
                .stale(dev.gatewarden.cache.CachePolicy.builder().enabled(false).build()));
    for (int i = 0; i < 10; i++) {
      up.execute(ClientRequest.get(ITEM), transport);
    }
    assertThat(up.breakerState()).isEqualTo("OPEN");
    int before = sent.get();
    assertThatThrownBy(() -> up.execute(ClientRequest.get(ITEM), transport))
        .isInstanceOfSatisfying(
            UpstreamException.class,
            e -> assertThat(e.failureCause()).isEqualTo(FailureCause.CIRCUIT_OPEN));
    assertThat(sent.get()).isEqualTo(before);
    assertThat(registry.find("resilience4j.circuitbreaker.state").meters()).isNotEmpty();

    // after the open period, trial calls go through; two good ones close the breaker again
    now.addAndGet(Duration.ofSeconds(31).toNanos());
    script.clear();
    script.add(status(200));
    assertThat(up.execute(ClientRequest.get(ITEM), transport).status()).isEqualTo(200);
    assertThat(up.breakerState()).isEqualTo("HALF_OPEN");
    assertThat(up.execute(ClientRequest.get(ITEM), transport).status()).isEqualTo(200);
    assertThat(up.breakerState()).isEqualTo("CLOSED");
  }

  @Test
  void timeoutsOfCenturiesAreAsGoodAsForever() throws Exception {
    Duration forever = Duration.ofSeconds(Long.MAX_VALUE);
    script.add(status(200));
    Upstream up =
        upstream(UpstreamPolicy.builder("inv").attemptTimeout(forever).totalTimeout(forever));
    assertThat(up.execute(ClientRequest.get(ITEM), transport).status()).isEqualTo(200);
  }

  @Test
  void hostsThatUriCannotParseNeverShareACopy() throws Exception {
    // java.net.URI gives no host for a registry-based authority ('_' in a service name)
    URI a = URI.create("http://svc_a:8080/item/1");
    URI b = URI.create("http://svc_b:8080/item/1");
    assertThat(a.getHost()).isNull();
    script.add(status(200));
    Upstream up = upstream(UpstreamPolicy.builder("inv"));
    up.execute(ClientRequest.get(a), transport);
    script.clear();
    script.add(new ConnectException("Connection refused"));
    assertThatThrownBy(() -> up.execute(ClientRequest.get(b), transport))
        .isInstanceOf(UpstreamException.class);
    assertThat(up.execute(ClientRequest.get(a), transport).header("Cache-Status"))
        .startsWith("Gatewarden;");
  }

  @Test
  void aResponseToTheClientsOwnCookiesOrCredentialsIsNeverKept() throws Exception {
    script.add(status(200).asPersonal());
    Upstream up = upstream(UpstreamPolicy.builder("inv"));
    assertThat(up.execute(ClientRequest.get(ITEM), transport).status()).isEqualTo(200);
    script.clear();
    script.add(new ConnectException("Connection refused"));
    assertThatThrownBy(() -> up.execute(ClientRequest.get(ITEM), transport))
        .isInstanceOf(UpstreamException.class);
  }

  /** An upstream that kept a copy of ITEM's good response, and now refuses every connection. */
  private Upstream keptCopyThenRefused() throws Exception {
    script.add(status(200));
    Upstream up = upstream(UpstreamPolicy.builder("inv"));
    up.execute(ClientRequest.get(ITEM), transport);
    script.clear();
    script.add(new ConnectException("Connection refused"));
    return up;
  }

  @Test
  void servesStaleCopyWhenEveryAttemptFails() throws Exception {
    Upstream up = keptCopyThenRefused();
    ClientResponse r = up.execute(ClientRequest.get(ITEM), transport);
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("Cache-Status")).startsWith("Gatewarden; fwd=request");
    assertThat(r.header("Age")).isEqualTo("0");
    assertThat(
            registry
                .get("gatewarden.client.requests")
                .tag("outcome", "stale")
                .tag("cause", "connect")
                .timer()
                .count())
        .isEqualTo(1);
  }

  @Test
  void aHeadIsAnsweredFromTheGetCopyWithoutItsBody() throws Exception {
    Upstream up = keptCopyThenRefused();
    ClientResponse head = up.execute(ClientRequest.of("HEAD", ITEM, Map.of(), null), transport);
    assertThat(head.status()).isEqualTo(200);
    assertThat(head.header("Cache-Status")).startsWith("Gatewarden;");
    assertThat(head.bodyLength()).isZero();
    assertThat(
            new String(
                up.execute(ClientRequest.get(ITEM), transport).body(), StandardCharsets.UTF_8))
        .as("the GET copy itself keeps its body")
        .isEqualTo("status 200");
  }

  @Test
  void validatorRejectionIsAnInvalidResponse() {
    script.add(status(200));
    Upstream up =
        upstream(
            UpstreamPolicy.builder("inv")
                .maxAttempts(2)
                .validator(r -> r.header("Content-Type") == null ? "expected a content type" : null)
                .stale(dev.gatewarden.cache.CachePolicy.builder().enabled(false).build()));
    assertThatThrownBy(() -> up.execute(ClientRequest.get(ITEM), transport))
        .isInstanceOfSatisfying(
            UpstreamException.class,
            e -> assertThat(e.failureCause()).isEqualTo(FailureCause.INVALID_RESPONSE));
    assertThat(sent).hasValue(2);
  }
}
