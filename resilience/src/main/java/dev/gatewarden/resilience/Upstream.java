package dev.gatewarden.resilience;

import dev.gatewarden.cache.CacheRequest;
import dev.gatewarden.cache.StaleCache;
import dev.gatewarden.cache.StaleCopy;
import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.bulkhead.BulkheadRegistry;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.core.functions.Either;
import io.github.resilience4j.micrometer.tagged.TaggedBulkheadMetrics;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.github.resilience4j.micrometer.tagged.TaggedRetryMetrics;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import io.github.resilience4j.retry.RetryRegistry;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Timer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The outbound engine for one named upstream: every adapter (JDK {@code HttpClient}, Apache
 * HttpClient 5, OkHttp, Spring) hands it a neutral {@link ClientRequest} and a {@link Transport},
 * and it applies the policies, outer to inner:
 *
 * <pre>
 * stale fallback
 *  └ total timeout (the policy's, capped by the current {@link Deadline})
 *     └ retry (Resilience4j Retry; idempotent methods only; budget; backoff with jitter; Retry-After)
 *        └ circuit breaker (Resilience4j)
 *           └ bulkhead (Resilience4j, semaphore, no queue)
 *              └ attempt timeout
 *                 └ response validation (truncation via the transport, then user validators)
 * </pre>
 *
 * <p>A call whose retries are exhausted on a failure status returns that last response (so clients
 * keep their own status handling); a call that got no usable response throws {@link
 * UpstreamException} with its {@link FailureCause}. A GET whose every attempt failed is answered
 * with a stale copy when the cache rules allow, marked with {@code Age} and {@code Cache-Status}.
 *
 * <p>Thread-safe: one instance serves all calls to its upstream. Resilience4j's own registries are
 * per instance, so two web applications in one JVM never share a breaker.
 */
public final class Upstream {
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger("dev.gatewarden.client");

  private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME;

  private final UpstreamPolicy policy;
  private final CircuitBreaker breaker;
  private final Bulkhead bulkhead;
  private final Retry retry;
  private final RetryBudget budget;
  private final StaleCache stale;
  private final LongSupplier nanoTime;
  private final MeterRegistry registry;
  private final Counter retries;

  /** The policy's attempt timeout and minimum attempt time in nanoseconds, capped (not thrown). */
  private final long attemptNanos;

  private final long minimumAttemptNanos;

  /**
   * The request timers by outcome and cause, registered on first use: looking a meter up in the
   * registry on every call (building its id, hashing its tags) was a measurable part of a call's
   * cost. Racing first uses register the same meter, so a plain array suffices.
   */
  private final Timer[][] timers = new Timer[OUTCOMES.size()][FailureCause.values().length + 1];

  private static final List<String> OUTCOMES = List.of("success", "failure", "stale", "cancelled");

  private static final int SUCCESS = 0;
  private static final int FAILURE = 1;
  private static final int STALE = 2;
  private static final int CANCELLED = 3;

  /** The policy's retry statuses by status code (a boxed set lookup on every call cost more). */
  private final boolean[] retryStatus = new boolean[1000];

  private final ThreadLocal<Call> currentCall = new ThreadLocal<>();

  private Upstream(Builder b) {
    this.policy = b.policy;
    this.attemptNanos = Deadline.saturatedNanos(policy.attemptTimeout);
    this.minimumAttemptNanos = Deadline.saturatedNanos(policy.minimumAttemptTime);
    for (int status : policy.retryStatuses) {
      if (status >= 0 && status < retryStatus.length) {
        retryStatus[status] = true;
      }
    }
    this.nanoTime = b.nanoTime;
    this.registry = b.registry;
    CircuitBreakerRegistry breakers =
        CircuitBreakerRegistry.of(
            CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(policy.breakerWindow)
                .minimumNumberOfCalls(Math.min(policy.breakerMinimumCalls, policy.breakerWindow))
                .failureRateThreshold(policy.breakerFailureRate)
                .waitDurationInOpenState(policy.breakerOpenFor)
                .permittedNumberOfCallsInHalfOpenState(2)
                .recordExceptions(Throwable.class)
                .ignoreException(t -> t instanceof RuntimeException || t instanceof Error)
                .clock(new NanoClock(b.nanoTime))
                .build());
    this.breaker = breakers.circuitBreaker(policy.name);
    BulkheadRegistry bulkheads =
        BulkheadRegistry.of(
            BulkheadConfig.custom()
                .maxConcurrentCalls(policy.bulkheadMaxConcurrent)
                .maxWaitDuration(Duration.ZERO)
                .build());
    this.bulkhead = bulkheads.bulkhead(policy.name);
    RetryRegistry retryRegistry =
        RetryRegistry.of(
            RetryConfig.<ClientResponse>custom()
                .maxAttempts(policy.maxAttempts)
                .retryOnResult(r -> call().shouldRetry(r))
                .retryOnException(t -> call().shouldRetry(t))
                .intervalBiFunction((attempt, outcome) -> call().delayMillis(attempt, outcome))
                .failAfterMaxAttempts(false)
                .build());
    this.retry = retryRegistry.retry(policy.name);
    this.budget =
        new RetryBudget(policy.retryBudgetRatio, policy.retryBudgetMinPerSecond, nanoTime);
    this.stale = policy.stale.enabled() ? b.staleCache : null;
    TaggedCircuitBreakerMetrics.ofCircuitBreakerRegistry(breakers).bindTo(registry);
    TaggedBulkheadMetrics.ofBulkheadRegistry(bulkheads).bindTo(registry);
    TaggedRetryMetrics.ofRetryRegistry(retryRegistry).bindTo(registry);
    this.retries =
        Counter.builder("gatewarden.client.retries")
            .description("Retries sent to an upstream")
            .tag("upstream", policy.name)
            .register(registry);
  }

  /** An engine for this policy, with meters in {@code Metrics.globalRegistry}. */
  public static Upstream of(UpstreamPolicy policy) {
    return builder(policy).build();
  }

  /** A builder, to choose the meter registry, the stale store or the clock. */
  public static Builder builder(UpstreamPolicy policy) {
    return new Builder(policy);
  }

  /** The policy. */
  public UpstreamPolicy policy() {
    return policy;
  }

  /** The circuit breaker's state, e.g. {@code CLOSED}, {@code OPEN}, {@code HALF_OPEN}. */
  public String breakerState() {
    return breaker.getState().name();
  }

  /**
   * Sends a request through every policy.
   *
   * @return the upstream's response (possibly a failure status, after retries), or a stale copy
   * @throws UpstreamException when no usable response could be had
   */
  public ClientResponse execute(ClientRequest request, Transport transport)
      throws UpstreamException {
    long start = nanoTime.getAsLong();
    Deadline total = Deadline.after(start, policy.totalTimeout, nanoTime);
    Deadline outer = Deadline.currentOrNull();
    if (outer != null) {
      total = total.min(outer.remaining());
    }
    Call call = new Call(request, total);
    budget.recordRequest(start);
    try {
      ClientResponse response = run(call, transport);
      boolean failed = isFailureStatus(response.status());
      if (!failed) {
        storeIfAllowed(request, response);
        record(start, SUCCESS, null);
        return response;
      }
      Optional<ClientResponse> copy = staleCopy(request, response.status());
      String detail = "status " + response.status();
      if (copy.isPresent()) {
        record(start, STALE, FailureCause.UPSTREAM_STATUS);
        incident(call, start, "stale", FailureCause.UPSTREAM_STATUS, detail, null);
        return copy.get();
      }
      record(start, FAILURE, FailureCause.UPSTREAM_STATUS);
      incident(call, start, "status", FailureCause.UPSTREAM_STATUS, detail, null);
      return response;
    } catch (AttemptFailure f) {
      Optional<ClientResponse> copy = staleCopy(request, 0);
      if (copy.isPresent()) {
        record(start, STALE, f.cause);
        incident(call, start, "stale", f.cause, f.getMessage(), f.getCause());
        return copy.get();
      }
      record(start, FAILURE, f.cause);
      incident(call, start, "error", f.cause, f.getMessage(), f.getCause());
      throw new UpstreamException(
          policy.name, f.cause, call.attempts, f.getMessage(), f.getCause());
    } catch (Cancelled c) { // the caller gave up: not the upstream's failure, nothing to answer
      record(start, CANCELLED, null);
      throw c;
    } catch (RuntimeException | Error e) {
      // A bug below the engine (an interceptor, a factory, a validator): counted and logged as
      // APPLICATION, then rethrown as it is. Not retried, not held against the upstream's breaker,
      // and not hidden behind a stale copy.
      try {
        record(start, FAILURE, FailureCause.APPLICATION);
        incident(call, start, "error", FailureCause.APPLICATION, describe(e), e);
      } catch (RuntimeException | Error again) { // out of memory, say: the original goes on
        e.addSuppressed(again);
      }
      throw e;
    }
  }

  private ClientResponse run(Call call, Transport transport) throws AttemptFailure {
    Retry.Context<ClientResponse> context = retry.context();
    while (true) {
      ClientResponse response;
      try {
        response = attempt(call, transport);
      } catch (AttemptFailure f) {
        call.lastFailure = f;
        Call outer = enter(call);
        try {
          context.onError(f); // sleeps and returns when retrying, rethrows otherwise
        } catch (AttemptFailure again) {
          if (Thread.currentThread().isInterrupted()) { // Resilience4j's sleep was interrupted
            throw Cancelled.byInterrupt(again);
          }
          throw again;
        } catch (Exception impossible) {
          throw f;
        } finally {
          leave(outer);
        }
        retries.increment();
        continue;
      }
      call.lastResponse = response;
      if (isRetryStatus(response.status())) { // else the retry predicate would say no: skip it
        boolean again;
        Call outer = enter(call);
        try {
          again = context.onResult(response); // sleeps when retrying
        } catch (java.util.concurrent.CancellationException interrupted) { // during that sleep
          throw Cancelled.byInterrupt(interrupted);
        } finally {
          leave(outer);
        }
        if (again) {
          retries.increment();
          continue;
        }
      }
      context.onComplete();
      return response;
    }
  }

  /**
   * Makes {@code call} the one the retry predicates see while Resilience4j decides (they are set
   * once, in the retry's config); returns the one to restore (a transport that calls this upstream
   * again, say). Only attempts that may be retried pay for it.
   */
  private Call enter(Call call) {
    Call outer = currentCall.get();
    currentCall.set(call);
    return outer;
  }

  private void leave(Call outer) {
    if (outer == null) {
      currentCall.remove();
    } else {
      currentCall.set(outer);
    }
  }

  private Call call() {
    Call c = currentCall.get();
    if (c == null) {
      throw new IllegalStateException("retry predicate called outside a call");
    }
    return c;
  }

  private ClientResponse attempt(Call call, Transport transport) throws AttemptFailure {
    long t0 = nanoTime.getAsLong(); // one clock read for the time left and the attempt's start
    long left = call.total.remainingNanos(t0);
    if (left < minimumAttemptNanos) {
      throw new AttemptFailure(
          FailureCause.TIMEOUT,
          "only " + TimeUnit.NANOSECONDS.toMillis(left) + " ms left of the deadline; not sent",
          null);
    }
    if (!breaker.tryAcquirePermission()) {
      throw new AttemptFailure(FailureCause.CIRCUIT_OPEN, "circuit breaker is open", null);
    }
    if (!bulkhead.tryAcquirePermission()) {
      breaker.releasePermission();
      throw new AttemptFailure(
          FailureCause.OVERLOAD,
          "bulkhead full (" + policy.bulkheadMaxConcurrent + " calls in flight)",
          null);
    }
    call.attempts++;
    boolean recorded = false; // whether the breaker has this attempt's outcome (or its permit back)
    try {
      Duration timeout = left < attemptNanos ? Duration.ofNanos(left) : policy.attemptTimeout;
      ClientResponse response;
      try {
        response = transport.send(call.request, timeout);
      } catch (IOException e) {
        if (Thread.currentThread().isInterrupted()) {
          // The caller's interrupt (adapters' watchdogs clear their own before returning), which a
          // client reported as an I/O failure: not the upstream's. The breaker ignores it below.
          throw Cancelled.byInterrupt(e);
        }
        AttemptFailure f = new AttemptFailure(classify(e), describe(e), e);
        // nothing was sent: the connection was refused, or the host did not resolve
        f.connectionRefused = e instanceof ConnectException || f.cause == FailureCause.DNS;
        recorded = true;
        breaker.onError(nanoTime.getAsLong() - t0, TimeUnit.NANOSECONDS, f);
        throw f;
      }
      for (ResponseValidator v : policy.validators) {
        String problem = v.validate(response);
        if (problem != null) {
          AttemptFailure f = new AttemptFailure(FailureCause.INVALID_RESPONSE, problem, null);
          recorded = true;
          breaker.onError(nanoTime.getAsLong() - t0, TimeUnit.NANOSECONDS, f);
          throw f;
        }
      }
      recorded = true;
      if (isFailureStatus(response.status())) {
        breaker.onError(
            nanoTime.getAsLong() - t0,
            TimeUnit.NANOSECONDS,
            new AttemptFailure(FailureCause.UPSTREAM_STATUS, "status " + response.status(), null));
      } else {
        breaker.onSuccess(nanoTime.getAsLong() - t0, TimeUnit.NANOSECONDS);
      }
      return response;
    } catch (RuntimeException | Error e) {
      if (!recorded) {
        // A bug below the engine (an interceptor, a validator, a transport that broke its
        // contract), not the upstream's failure: the breaker's config ignores it, which returns
        // the permit and counts it as "ignored".
        breaker.onError(nanoTime.getAsLong() - t0, TimeUnit.NANOSECONDS, e);
      }
      throw e;
    } finally {
      bulkhead.onComplete();
    }
  }

  private boolean isFailureStatus(int status) {
    return status >= 500 || isRetryStatus(status);
  }

  private boolean isRetryStatus(int status) {
    return status >= 0 && status < retryStatus.length && retryStatus[status];
  }

  static FailureCause classify(IOException e) {
    FailureCause c = FailureCause.classify(e); // an adapter's TransportException keeps its cause
    if (c != FailureCause.APPLICATION) {
      return c;
    }
    // An I/O failure the adapter did not classify.
    if (e instanceof java.net.ProtocolException || raisedByJdkBodyParser(e)) {
      return FailureCause.INVALID_RESPONSE; // the peer's reply was not valid HTTP
    }
    // Otherwise the connection broke before a usable response.
    return e instanceof InterruptedIOException ? FailureCause.TIMEOUT : FailureCause.CONNECT;
  }

  /**
   * Whether {@code e} was raised by the JDK {@code HttpClient}'s body parser (broken chunking, for
   * one). The JDK may report such a failure from {@code send} itself, before the caller (Spring's
   * {@code JdkClientHttpRequestFactory}) sees the headers, when headers and the bad body arrive
   * together; the frame tells it apart from a connection that broke before any reply.
   */
  private static boolean raisedByJdkBodyParser(IOException e) {
    for (StackTraceElement frame : e.getStackTrace()) {
      if (frame.getClassName().startsWith("jdk.internal.net.http.ResponseContent")) {
        return true;
      }
    }
    return false;
  }

  private static String describe(Throwable t) {
    return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
  }

  // ---- stale copies -----------------------------------------------------------------------------

  private void storeIfAllowed(ClientRequest request, ClientResponse response) {
    if (stale == null
        || response.status() != 200
        || !"GET".equals(request.method())
        || !request.target().hasHost()
        || response.isPersonal()) {
      return;
    }
    OutboundCacheRequest cacheRequest = new OutboundCacheRequest(request);
    if (stale.hasRecentCopy(cacheRequest)) {
      return; // the usual case under steady traffic, and the cheapest answer: nothing to store
    }
    byte[] body = response.bodyUnsafe();
    stale.store(cacheRequest, 200, response.headers(), body, 0, body.length, policy.stale);
  }

  private Optional<ClientResponse> staleCopy(ClientRequest request, int failedStatus) {
    if (stale == null || !request.target().hasHost()) {
      return Optional.empty();
    }
    Optional<StaleCopy> copy = stale.lookup(new OutboundCacheRequest(request), policy.stale);
    if (copy.isEmpty()) {
      return Optional.empty();
    }
    StaleCopy c = copy.get();
    boolean head = "HEAD".equals(request.method()); // answered from the GET copy, without body
    ByteArrayOutputStream body = new ByteArrayOutputStream(head ? 0 : c.response().bodyLength());
    if (!head) {
      try {
        c.response().writeBodyTo(body);
      } catch (IOException impossible) {
        return Optional.empty();
      }
    }
    Map<String, String> marks = new LinkedHashMap<>();
    marks.put("Age", Long.toString(c.ageSeconds()));
    marks.put("Cache-Status", c.cacheStatus("Gatewarden", failedStatus));
    return Optional.of(
        ClientResponse.of(c.response().status(), c.response().headers(), body.toByteArray())
            .withHeaders(marks));
  }

  private static final class OutboundCacheRequest implements CacheRequest {
    private final ClientRequest request;

    OutboundCacheRequest(ClientRequest request) {
      this.request = request;
    }

    @Override
    public String method() {
      return request.method();
    }

    @Override
    public String host() {
      return request.target().authorityKey();
    }

    @Override
    public boolean hasHost(String key) {
      return request.target().hasAuthorityKey(key);
    }

    @Override
    public String path() {
      return request.target().rawPath;
    }

    @Override
    public String query() {
      return request.target().rawQuery;
    }

    @Override
    public String header(String name) {
      List<String> v = request.headers().get(name);
      return v == null || v.isEmpty() ? null : String.join(", ", v);
    }

    @Override
    public boolean hasSession() {
      return false;
    }
  }

  // ---- metrics ----------------------------------------------------------------------------------

  /**
   * One WARN line per call that did not end well: what was called (without its query), why it
   * failed, what the caller got ({@code stale}: a stored copy; {@code status}: the upstream's own
   * failure status; {@code error}: an {@link UpstreamException}), and what to do about it. The
   * underlying exception's stack trace goes to DEBUG.
   */
  private void incident(
      Call call, long start, String answered, FailureCause cause, String detail, Throwable error) {
    if (!LOG.isWarnEnabled()) {
      return;
    }
    LOG.warn(
        "gatewarden upstream incident: {} {} upstream={} cause={} answered={} attempts={}"
            + " elapsed_ms={} detail=\"{}\" remedy=\"{}\"",
        call.request.method(),
        call.request.target().logAddress(),
        policy.name,
        cause.tag(),
        answered,
        call.attempts,
        TimeUnit.NANOSECONDS.toMillis(nanoTime.getAsLong() - start),
        LogText.clean(detail),
        cause.remedy());
    if (error != null && LOG.isDebugEnabled()) {
      LOG.debug("gatewarden upstream incident upstream=" + policy.name + " stack trace", error);
    }
  }

  /** Records a call's time; {@code outcome} indexes {@link #OUTCOMES}. */
  private void record(long start, int outcome, FailureCause cause) {
    int c = cause == null ? 0 : cause.ordinal() + 1;
    Timer timer = timers[outcome][c];
    if (timer == null) {
      timer =
          Timer.builder("gatewarden.client.requests")
              .description("Calls to an upstream through Gatewarden, by outcome and failure cause")
              .tag("upstream", policy.name)
              .tag("outcome", OUTCOMES.get(outcome))
              .tag("cause", cause == null ? "none" : cause.tag())
              .register(registry);
      timers[outcome][c] = timer;
    }
    timer.record(nanoTime.getAsLong() - start, TimeUnit.NANOSECONDS);
  }

  // ---- one call's retry decisions -----------------------------------------------------------

  /** The state of one call, read by the Resilience4j retry predicates and interval function. */
  private final class Call {
    final ClientRequest request;
    final Deadline total;
    int attempts;
    AttemptFailure lastFailure;
    ClientResponse lastResponse;

    Call(ClientRequest request, Deadline total) {
      this.request = request;
      this.total = total;
    }

    boolean shouldRetry(ClientResponse response) {
      if (!isRetryStatus(response.status())) {
        return false;
      }
      if (attempts >= policy.maxAttempts) {
        return mayRetry(false, 0); // Resilience4j stops here by itself: see mayRetry
      }
      long delay = retryAfterMillis(response);
      if (delay == -2) {
        return false; // a valid Retry-After beyond the cap: waiting that long is not our call
      }
      return mayRetry(false, Math.max(delay, 0));
    }

    boolean shouldRetry(Throwable t) {
      if (!(t instanceof AttemptFailure)) {
        return false;
      }
      AttemptFailure f = (AttemptFailure) t;
      switch (f.cause) {
        case TIMEOUT:
        case CONNECT:
        case DNS:
        case INVALID_RESPONSE:
          return mayRetry(f.connectionRefused, 0);
        default:
          return false;
      }
    }

    private boolean mayRetry(boolean requestNeverSent, long minimumDelayMillis) {
      if (attempts >= policy.maxAttempts) {
        // Resilience4j stops at the same count by itself; saying "retryable" lets its retry meter
        // count the call as failed with retries, not as a success or a failure never retried
        return policy.maxAttempts > 1;
      }
      boolean idempotent =
          request.isIdempotent()
              || policy.retryNonIdempotent
              || (policy.retryWithIdempotencyKey && request.header("Idempotency-Key") != null);
      if (!idempotent && !requestNeverSent) {
        return false;
      }
      long leftMillis = total.remaining().toMillis();
      if (leftMillis - minimumDelayMillis < policy.minimumAttemptTime.toMillis()) {
        return false;
      }
      return budget.tryRetry();
    }

    long delayMillis(int attempt, Either<Throwable, ClientResponse> outcome) {
      long delay;
      long retryAfter = outcome.isRight() ? retryAfterMillis(outcome.get()) : -1;
      if (retryAfter >= 0) {
        delay = retryAfter;
      } else {
        long ceiling =
            Math.min(
                policy.backoffMax.toMillis(),
                policy.backoffInitial.toMillis() << Math.min(20, Math.max(0, attempt - 1)));
        delay = ThreadLocalRandom.current().nextLong(ceiling + 1); // full jitter
      }
      long room = total.remaining().toMillis() - policy.minimumAttemptTime.toMillis();
      return Math.max(0, Math.min(delay, room));
    }

    /**
     * The response's {@code Retry-After} in milliseconds: -1 when absent or malformed (then backoff
     * applies), -2 when valid but beyond the cap. Negative, huge and unparseable values never make
     * the engine sleep longer than the cap.
     */
    long retryAfterMillis(ClientResponse response) {
      String v = response.header("Retry-After");
      if (v == null) {
        return -1;
      }
      v = v.trim();
      long millis;
      if (!v.isEmpty() && v.length() <= 10 && v.chars().allMatch(Character::isDigit)) {
        millis = Long.parseLong(v) * 1000;
      } else {
        try {
          Instant at = ZonedDateTime.parse(v, HTTP_DATE).toInstant();
          millis = Math.max(0, Duration.between(Instant.now(), at).toMillis());
        } catch (DateTimeParseException e) {
          return -1;
        }
      }
      return millis > policy.retryAfterCap.toMillis() ? -2 : millis;
    }
  }

  /**
   * The engine's nanosecond time as a {@link java.time.Clock}, so the breaker's open period follows
   * it.
   */
  private static final class NanoClock extends java.time.Clock {
    private final LongSupplier nanoTime;

    NanoClock(LongSupplier nanoTime) {
      this.nanoTime = nanoTime;
    }

    @Override
    public java.time.ZoneId getZone() {
      return java.time.ZoneOffset.UTC;
    }

    @Override
    public java.time.Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.EPOCH.plusNanos(nanoTime.getAsLong());
    }
  }

  /**
   * Thrown by an adapter's transport when the caller cancelled the call (an interrupt, Apache's
   * {@code cancel()}, OkHttp's {@code Call.cancel()}): the engine neither retries it nor holds it
   * against the breaker nor answers with a stale copy, counts it with outcome {@code cancelled},
   * and lets it through; the adapter then throws {@link #original} as its client would have.
   */
  static final class Cancelled extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final Exception original;

    Cancelled(Exception original) {
      super(original.getMessage(), original, false, false);
      this.original = original;
    }

    /** The caller's interrupt, seen between attempts: the flag is cleared, as it is thrown. */
    static Cancelled byInterrupt(Throwable seen) {
      Thread.interrupted();
      InterruptedException e = new InterruptedException("interrupted between attempts");
      e.initCause(seen);
      return new Cancelled(e);
    }

    /**
     * The original, as an {@code IOException} (an interrupt as an {@code InterruptedIOException}).
     */
    IOException asIoException() {
      if (original instanceof IOException) {
        return (IOException) original;
      }
      Thread.currentThread().interrupt();
      java.io.InterruptedIOException e = new java.io.InterruptedIOException("interrupted");
      e.initCause(original);
      return e;
    }
  }

  /** One attempt's failure, classified. */
  static final class AttemptFailure extends IOException {
    private static final long serialVersionUID = 1L;
    final transient FailureCause cause;
    transient boolean connectionRefused;

    AttemptFailure(FailureCause cause, String message, Throwable underlying) {
      super(message, underlying);
      this.cause = cause;
    }
  }

  /** Builds an {@link Upstream}. Not thread-safe. */
  public static final class Builder {
    private final UpstreamPolicy policy;
    private MeterRegistry registry = Metrics.globalRegistry;
    private StaleCache staleCache;
    private LongSupplier nanoTime = System::nanoTime;

    private Builder(UpstreamPolicy policy) {
      this.policy = java.util.Objects.requireNonNull(policy, "policy");
    }

    /** Registers meters here instead of {@code Metrics.globalRegistry}. */
    public Builder meterRegistry(MeterRegistry registry) {
      this.registry = java.util.Objects.requireNonNull(registry, "registry");
      return this;
    }

    /**
     * Keeps stale copies in this store (shared by several upstreams if you like); default: a new 16
     * MiB store.
     */
    public Builder staleCache(StaleCache cache) {
      this.staleCache = java.util.Objects.requireNonNull(cache, "staleCache");
      return this;
    }

    /** The nanosecond clock for timeouts and the retry budget (tests use a fake one). */
    public Builder nanoTime(LongSupplier nanoTime) {
      this.nanoTime = java.util.Objects.requireNonNull(nanoTime, "nanoTime");
      return this;
    }

    public Upstream build() {
      if (staleCache == null) {
        staleCache = StaleCache.builder().maximumBytes(16L << 20).build();
      }
      return new Upstream(this);
    }
  }
}
