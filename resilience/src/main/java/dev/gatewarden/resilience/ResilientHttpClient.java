package dev.gatewarden.resilience;

import java.io.IOException;
import java.net.Authenticator;
import java.net.CookieHandler;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;

/**
 * The JDK {@link HttpClient} adapter: a client that sends every request through an {@link
 * Upstream}'s policies and otherwise behaves like the client it wraps. Adopting it is one line:
 *
 * <pre>{@code
 * HttpClient client = ResilientHttpClient.wrap(HttpClient.newHttpClient(),
 *     Upstream.of(UpstreamPolicy.builder("inventory").build()));
 * }</pre>
 *
 * <p>Request bodies are read once into memory so that retries can replay them; response bodies are
 * read whole and validated before the {@code BodyHandler} sees them (so a streaming handler such as
 * {@code ofInputStream()} still gets a complete body, never half of one). {@code sendAsync} runs
 * the call on this client's own daemon threads (never the wrapped client's executor, which the JDK
 * needs for the exchange itself), under the {@link Deadline} that was current where it was called;
 * {@code cancel(true)} on its future interrupts the call. On JDK 21 and later, {@code close()} and
 * the shutdown methods reach the wrapped client. A response's {@code uri()}, {@code version()} and
 * {@code sslSession()} are the request's, HTTP/1.1 and none, whatever redirect or protocol the
 * wrapped client used. Thread-safe.
 */
public final class ResilientHttpClient extends HttpClient {
  private final HttpClient delegate;
  private final Upstream upstream;

  /**
   * The threads {@code sendAsync} blocks on: never the wrapped client's executor, which the JDK
   * needs for the exchanges themselves (a fixed pool would wait on itself until the attempts time
   * out).
   */
  private final ExecutorService asyncExecutor;

  private ResilientHttpClient(HttpClient delegate, Upstream upstream) {
    this.delegate = delegate;
    this.upstream = upstream;
    this.asyncExecutor =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "gatewarden-" + upstream.policy().name());
              t.setDaemon(true);
              return t;
            });
  }

  /** Wraps {@code client} so that its requests go through {@code upstream}'s policies. */
  public static HttpClient wrap(HttpClient client, Upstream upstream) {
    return new ResilientHttpClient(
        Objects.requireNonNull(client, "client"), Objects.requireNonNull(upstream, "upstream"));
  }

  @Override
  public <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler)
      throws IOException, InterruptedException {
    ClientRequest neutral = toNeutral(request);
    ClientResponse response;
    try {
      response = upstream.execute(neutral, (r, timeout) -> transport(request, r, timeout));
    } catch (Upstream.Cancelled c) { // the caller's interrupt, as the JDK client reports it
      if (c.original instanceof InterruptedException) {
        throw (InterruptedException) c.original;
      }
      throw c.asIoException();
    }
    return toResponse(request, response, handler);
  }

  @Override
  public <T> CompletableFuture<HttpResponse<T>> sendAsync(
      HttpRequest request, HttpResponse.BodyHandler<T> handler) {
    // the caller's deadline (a filter request's) caps the call on the pool's thread too
    AsyncCall<T> call = new AsyncCall<>(request, handler, Deadline.currentOrNull());
    try {
      asyncExecutor.execute(call);
    } catch (java.util.concurrent.RejectedExecutionException e) { // as the JDK's own, shut down
      call.completeExceptionally(new IOException("the client was shut down", e));
    }
    return call;
  }

  /**
   * One {@code sendAsync} call, run on this client's threads: {@code cancel(true)}, on it or on a
   * future derived from it (as with the JDK client's own), interrupts the call, and the engine ends
   * it as a cancel. Dependent stages run after the call's deadline scope has closed.
   */
  private final class AsyncCall<T> extends CompletableFuture<HttpResponse<T>> implements Runnable {
    private final HttpRequest request;
    private final HttpResponse.BodyHandler<T> handler;
    private final Deadline deadline;
    private final Object lock = new Object();

    /** The thread running the call, while it runs; guarded by {@link #lock}. */
    private Thread runner;

    AsyncCall(HttpRequest request, HttpResponse.BodyHandler<T> handler, Deadline deadline) {
      this.request = request;
      this.handler = handler;
      this.deadline = deadline;
    }

    @Override
    public void run() {
      synchronized (lock) {
        if (isDone()) {
          return; // cancelled before it started
        }
        runner = Thread.currentThread();
      }
      HttpResponse<T> response = null;
      Throwable failure = null;
      Deadline.Scope scope = deadline == null ? null : deadline.makeCurrent();
      try {
        response = send(request, handler);
      } catch (InterruptedException e) { // a cancel(true), or the pool shutting down
        failure = isCancelled() ? e : new IOException("interrupted", e);
      } catch (Throwable e) { // an Error too: the future must not wait forever
        failure = e;
      } finally {
        if (scope != null) {
          scope.close();
        }
        synchronized (lock) {
          runner = null;
        }
        Thread.interrupted(); // a cancel's interrupt ends with the call, never reaches the next
      }
      if (failure == null) {
        complete(response);
      } else {
        completeExceptionally(failure);
        if (failure instanceof Error) {
          throw (Error) failure;
        }
      }
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      boolean cancelled = super.cancel(mayInterruptIfRunning);
      if (cancelled && mayInterruptIfRunning) {
        synchronized (lock) {
          if (runner != null) {
            runner.interrupt();
          }
        }
      }
      return cancelled;
    }

    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
      return new Dependent<>(this);
    }
  }

  /** A stage derived from an {@link AsyncCall}: cancelling it cancels the call too. */
  private static final class Dependent<U> extends CompletableFuture<U> {
    private final CompletableFuture<?> source;

    Dependent(CompletableFuture<?> source) {
      this.source = source;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      boolean cancelled = super.cancel(mayInterruptIfRunning);
      if (cancelled) {
        source.cancel(mayInterruptIfRunning);
      }
      return cancelled;
    }

    @Override
    public <V> CompletableFuture<V> newIncompleteFuture() {
      return new Dependent<>(source);
    }
  }

  @Override
  public <T> CompletableFuture<HttpResponse<T>> sendAsync(
      HttpRequest request,
      HttpResponse.BodyHandler<T> handler,
      HttpResponse.PushPromiseHandler<T> pushPromiseHandler) {
    return sendAsync(request, handler); // server push is not offered through the resilient path
  }

  private ClientResponse transport(HttpRequest original, ClientRequest r, Duration attemptTime)
      throws IOException {
    // the request's own timeout, when shorter, caps each attempt
    Duration timeout =
        original.timeout().filter(t -> t.compareTo(attemptTime) < 0).orElse(attemptTime);
    AtomicBoolean headersReceived = new AtomicBoolean();
    // The JDK client's request timeout ends when the headers arrive, so a body that trickles would
    // not be bounded. A watchdog interrupts the sending thread when the attempt's time is up, which
    // makes the JDK cancel the exchange and drop its connection (JDK 16+); it bounds the headers
    // too, so the request carries no timeout of its own (each one is a timer registered with the
    // client's selector thread and a wake-up of it: a seventh of the adapter's CPU per call). The
    // synchronous send is kept on purpose: sendAsync(...).get() measured twice as slow per call on
    // loopback.
    AttemptWatchdog watchdog = AttemptWatchdog.interrupting(timeout);
    HttpResponse<byte[]> response;
    try {
      response =
          delegate.send(
              attemptRequest(original, r),
              info -> {
                headersReceived.set(true);
                return HttpResponse.BodySubscribers.ofByteArray();
              });
    } catch (InterruptedException e) {
      if (watchdog.disarm()) {
        throw new java.net.http.HttpTimeoutException(
            (headersReceived.get() ? "body" : "response") + " not received within " + timeout);
      }
      throw new Upstream.Cancelled(e); // the caller's own interrupt: it gave up
    } catch (java.net.http.HttpTimeoutException e) {
      watchdog.disarm();
      throw e;
    } catch (IOException e) { // a malformed head (ProtocolException): the engine's INVALID_RESPONSE
      if (watchdog.disarm()) {
        throw new java.net.http.HttpTimeoutException(
            (headersReceived.get() ? "body" : "response") + " not received within " + timeout);
      }
      if (headersReceived.get()) {
        throw new TransportException(
            FailureCause.INVALID_RESPONSE, "body cut short after the headers", e);
      }
      throw e;
    } finally {
      watchdog.disarm(); // on every path, unchecked exceptions included
    }
    ClientResponse neutral =
        ClientResponse.wrap(response.statusCode(), view(response.headers()), response.body());
    return sentOwnCredentials(response) ? neutral.asPersonal() : neutral;
  }

  /**
   * The request an attempt sends: the caller's own when it has neither a timeout nor a body (a
   * plain GET, the usual call: nothing to replay, and the JDK builds nothing new), else a copy
   * without the timeout (the watchdog bounds the attempt) and with the buffered body, which every
   * attempt can send again.
   */
  private static HttpRequest attemptRequest(HttpRequest original, ClientRequest r) {
    if (original.timeout().isEmpty() && original.bodyPublisher().isEmpty()) {
      return original;
    }
    HttpRequest.Builder b =
        HttpRequest.newBuilder(r.uri()).expectContinue(original.expectContinue());
    if (original.bodyPublisher().isPresent()) {
      b.method(r.method(), HttpRequest.BodyPublishers.ofByteArray(r.bodyUnsafe()));
    } else if ("GET".equals(r.method())) {
      b.GET(); // without a publisher, as the caller built it: the JDK then sends no body headers
    } else if ("DELETE".equals(r.method())) {
      b.DELETE();
    } else if (!"HEAD".equals(r.method()) || !head(b)) {
      b.method(r.method(), HttpRequest.BodyPublishers.noBody());
    }
    original.version().ifPresent(b::version);
    original.headers().map().forEach((name, values) -> values.forEach(v -> b.header(name, v)));
    return b.build();
  }

  /**
   * Whether the client may have sent cookies or credentials of its own: its cookie handler holds
   * cookies for the address of any request it sent (each hop of a redirect it followed included),
   * or it has an authenticator (whose credentials the JDK also sends unasked once a challenge
   * succeeded). Those are added below this wrapper, so the response may be one user's.
   */
  private boolean sentOwnCredentials(HttpResponse<?> response) throws IOException {
    if (delegate.authenticator().isPresent()) {
      return true;
    }
    Optional<java.net.CookieHandler> cookies = delegate.cookieHandler();
    if (cookies.isEmpty()) {
      return false;
    }
    for (HttpResponse<?> hop = response; hop != null; hop = hop.previousResponse().orElse(null)) {
      List<String> sent = cookies.get().get(hop.request().uri(), Map.of()).get("Cookie");
      if (sent != null && !sent.isEmpty()) {
        return true;
      }
    }
    return false;
  }

  /** {@code HttpRequest.Builder.HEAD()} where the running JDK has it (18 and later), else null. */
  private static final java.lang.invoke.MethodHandle HEAD = headMethod();

  private static java.lang.invoke.MethodHandle headMethod() {
    try {
      return java.lang.invoke.MethodHandles.publicLookup()
          .findVirtual(
              HttpRequest.Builder.class,
              "HEAD",
              java.lang.invoke.MethodType.methodType(HttpRequest.Builder.class));
    } catch (ReflectiveOperationException e) {
      return null; // JDK 17: method("HEAD", noBody()) is what its own HEAD would be
    }
  }

  /** Makes {@code b} a HEAD without a publisher, as the JDK's own {@code HEAD()}; false if none. */
  private static boolean head(HttpRequest.Builder b) {
    if (HEAD == null) {
      return false;
    }
    try {
      HEAD.invoke(b);
      return true;
    } catch (Throwable e) {
      return false;
    }
  }

  private static ClientRequest toNeutral(HttpRequest request) throws IOException {
    byte[] body = request.bodyPublisher().map(ResilientHttpClient::readAll).orElse(null);
    return ClientRequest.wrap(
        request.method(), ClientRequest.Target.of(request.uri()), view(request.headers()), body);
  }

  /** The JDK's headers (immutable) as a map. */
  private static HeaderView view(HttpHeaders headers) {
    return HeaderView.over(
        headers,
        HttpHeaders::allValues,
        (all, line) ->
            all.map().forEach((name, values) -> values.forEach(v -> line.accept(name, v))));
  }

  private static byte[] readAll(HttpRequest.BodyPublisher publisher) {
    HttpResponse.BodySubscriber<byte[]> collector = HttpResponse.BodySubscribers.ofByteArray();
    publisher.subscribe(
        new Flow.Subscriber<ByteBuffer>() {
          @Override
          public void onSubscribe(Flow.Subscription s) {
            collector.onSubscribe(s);
          }

          @Override
          public void onNext(ByteBuffer item) {
            collector.onNext(List.of(item));
          }

          @Override
          public void onError(Throwable t) {
            collector.onError(t);
          }

          @Override
          public void onComplete() {
            collector.onComplete();
          }
        });
    try {
      return collector.getBody().toCompletableFuture().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while reading the request body", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("could not read the request body", e.getCause());
    }
  }

  private static <T> HttpResponse<T> toResponse(
      HttpRequest request, ClientResponse response, HttpResponse.BodyHandler<T> handler)
      throws IOException {
    HttpHeaders received = HeaderView.sourceOf(response.headers(), HttpHeaders.class);
    HttpHeaders headers =
        received != null
            ? received // the upstream's own, as received
            : HttpHeaders.of(response.headers(), (n, v) -> true); // a stale copy
    HttpResponse.ResponseInfo info =
        new HttpResponse.ResponseInfo() {
          @Override
          public int statusCode() {
            return response.status();
          }

          @Override
          public HttpHeaders headers() {
            return headers;
          }

          @Override
          public Version version() {
            return Version.HTTP_1_1;
          }
        };
    HttpResponse.BodySubscriber<T> subscriber = handler.apply(info);
    byte[] body = response.bodyUnsafe();
    AtomicBoolean delivered = new AtomicBoolean();
    subscriber.onSubscribe(
        new Flow.Subscription() {
          @Override
          public void request(long n) {
            if (n > 0 && delivered.compareAndSet(false, true)) {
              if (body.length > 0) {
                subscriber.onNext(List.of(ByteBuffer.wrap(body).asReadOnlyBuffer()));
              }
              subscriber.onComplete();
            }
          }

          @Override
          public void cancel() {
            delivered.set(true);
          }
        });
    T value;
    try {
      value = subscriber.getBody().toCompletableFuture().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while handing over the body");
    } catch (ExecutionException e) {
      throw new IOException("the body handler failed", e.getCause());
    }
    return new SimpleResponse<>(request, response.status(), headers, value);
  }

  private static final class SimpleResponse<T> implements HttpResponse<T> {
    private final HttpRequest request;
    private final int status;
    private final HttpHeaders headers;
    private final T body;

    SimpleResponse(HttpRequest request, int status, HttpHeaders headers, T body) {
      this.request = request;
      this.status = status;
      this.headers = headers;
      this.body = body;
    }

    @Override
    public int statusCode() {
      return status;
    }

    @Override
    public HttpRequest request() {
      return request;
    }

    @Override
    public Optional<HttpResponse<T>> previousResponse() {
      return Optional.empty();
    }

    @Override
    public HttpHeaders headers() {
      return headers;
    }

    @Override
    public T body() {
      return body;
    }

    @Override
    public Optional<SSLSession> sslSession() {
      return Optional.empty();
    }

    @Override
    public URI uri() {
      return request.uri();
    }

    @Override
    public Version version() {
      return Version.HTTP_1_1;
    }
  }

  // ---- configuration is the wrapped client's --------------------------------------------------

  @Override
  public Optional<CookieHandler> cookieHandler() {
    return delegate.cookieHandler();
  }

  @Override
  public Optional<Duration> connectTimeout() {
    return delegate.connectTimeout();
  }

  @Override
  public Redirect followRedirects() {
    return delegate.followRedirects();
  }

  @Override
  public Optional<ProxySelector> proxy() {
    return delegate.proxy();
  }

  @Override
  public SSLContext sslContext() {
    return delegate.sslContext();
  }

  @Override
  public SSLParameters sslParameters() {
    return delegate.sslParameters();
  }

  @Override
  public Optional<Authenticator> authenticator() {
    return delegate.authenticator();
  }

  @Override
  public Version version() {
    return delegate.version();
  }

  @Override
  public Optional<Executor> executor() {
    return delegate.executor();
  }

  /** The wrapped client's (WebSocket connections do not go through the engine). */
  @Override
  public java.net.http.WebSocket.Builder newWebSocketBuilder() {
    return delegate.newWebSocketBuilder();
  }

  // ---- JDK 21+: HttpClient's shutdown and close, forwarded to the wrapped client --------------
  // This class compiles for Java 17, where HttpClient has none of these: declared here, they
  // override HttpClient's (whose defaults do nothing) on JDK 21 and later, and only stop this
  // wrapper's own threads on 17.

  private static final java.lang.invoke.MethodHandle SHUTDOWN =
      clientMethod("shutdown", void.class);
  private static final java.lang.invoke.MethodHandle SHUTDOWN_NOW =
      clientMethod("shutdownNow", void.class);
  private static final java.lang.invoke.MethodHandle AWAIT_TERMINATION =
      clientMethod("awaitTermination", boolean.class, Duration.class);
  private static final java.lang.invoke.MethodHandle IS_TERMINATED =
      clientMethod("isTerminated", boolean.class);
  private static final java.lang.invoke.MethodHandle CLOSE = clientMethod("close", void.class);

  private static java.lang.invoke.MethodHandle clientMethod(
      String name, Class<?> returns, Class<?>... parameters) {
    try {
      return java.lang.invoke.MethodHandles.publicLookup()
          .findVirtual(
              HttpClient.class, name, java.lang.invoke.MethodType.methodType(returns, parameters));
    } catch (ReflectiveOperationException e) {
      return null; // JDK 17-20
    }
  }

  /** Starts an orderly shutdown of the wrapped client (JDK 21+) and of this wrapper's threads. */
  public void shutdown() {
    asyncExecutor.shutdown();
    forward(SHUTDOWN);
  }

  /** Shuts the wrapped client (JDK 21+) and this wrapper's threads down at once. */
  public void shutdownNow() {
    asyncExecutor.shutdownNow();
    forward(SHUTDOWN_NOW);
  }

  /**
   * Waits until this wrapper's threads and the wrapped client (JDK 21+) have terminated.
   *
   * @return whether they terminated in time
   */
  public boolean awaitTermination(Duration duration) throws InterruptedException {
    long until = System.nanoTime() + Deadline.saturatedNanos(duration);
    if (!asyncExecutor.awaitTermination(Deadline.saturatedNanos(duration), TimeUnit.NANOSECONDS)) {
      return false;
    }
    if (AWAIT_TERMINATION == null) {
      return true;
    }
    try {
      return (boolean)
          AWAIT_TERMINATION.invoke(
              delegate, Duration.ofNanos(Math.max(0, until - System.nanoTime())));
    } catch (InterruptedException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable e) {
      throw new IllegalStateException(e);
    }
  }

  /** Whether this wrapper's threads and the wrapped client (JDK 21+) have terminated. */
  public boolean isTerminated() {
    if (IS_TERMINATED == null || !asyncExecutor.isTerminated()) {
      return asyncExecutor.isTerminated();
    }
    try {
      return (boolean) IS_TERMINATED.invoke(delegate);
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable e) {
      throw new IllegalStateException(e);
    }
  }

  /** Closes the wrapped client (JDK 21+: waits for its exchanges) and this wrapper's threads. */
  public void close() {
    asyncExecutor.shutdown();
    forward(CLOSE);
  }

  private void forward(java.lang.invoke.MethodHandle method) {
    if (method == null) {
      return;
    }
    try {
      method.invoke(delegate);
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable e) {
      throw new IllegalStateException(e);
    }
  }
}
