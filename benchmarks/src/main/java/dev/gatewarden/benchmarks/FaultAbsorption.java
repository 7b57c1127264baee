package dev.gatewarden.benchmarks;

import dev.failsafe.Failsafe;
import dev.failsafe.RetryPolicy;
import dev.gatewarden.cache.CachePolicy;
import dev.gatewarden.resilience.ResilientHttpClient;
import dev.gatewarden.resilience.Upstream;
import dev.gatewarden.resilience.UpstreamPolicy;
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
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fault absorption: an upstream on loopback answers 20 % of requests with 503 and resets 5 % of
 * connections before answering; the same caller workload runs with no decoration, with Gatewarden
 * (defaults: 3 attempts, retry budget, stale copies), with Gatewarden without stale copies (retries
 * only), and with Failsafe configured to the same retry policy. Prints the caller's error rate and
 * the upstream's load (requests received per caller request) for each, side by side.
 */
public final class FaultAbsorption {
  private static final int CALLS = Integer.getInteger("bench.calls", 4000);
  private static final int THREADS = 8;
  private static final int ITEMS = 50;

  private FaultAbsorption() {}

  public static void main(String[] args) throws Exception {
    System.out.printf(
        Locale.ROOT,
        "# FaultAbsorption: JDK %s, %d calls on %d threads over %d items, upstream: 20%% 503, 5%% resets%n",
        System.getProperty("java.version"),
        CALLS,
        THREADS,
        ITEMS);
    System.out.println(
        "| client | caller errors | error rate | upstream requests | upstream load |");
    System.out.println("|---|---:|---:|---:|---:|");
    run("no decoration", up -> rawClient());
    run("Gatewarden (defaults)", up -> gatewarden(CachePolicy.defaults()));
    run(
        "Gatewarden, retries only (no stale)",
        up -> gatewarden(CachePolicy.builder().enabled(false).build()));
    run("Failsafe, same retry policy", up -> null);
  }

  interface Client {
    int get(URI uri) throws Exception;
  }

  interface Factory {
    Client create(FaultyServer up) throws Exception;
  }

  private static Client rawClient() {
    HttpClient c = HttpClient.newHttpClient();
    return uri ->
        c.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString())
            .statusCode();
  }

  private static Client gatewarden(CachePolicy stale) {
    Upstream up =
        Upstream.builder(
                UpstreamPolicy.builder("upstream")
                    .backoff(Duration.ofMillis(5), Duration.ofMillis(50))
                    .stale(stale)
                    .build())
            .meterRegistry(new SimpleMeterRegistry())
            .build();
    HttpClient c = ResilientHttpClient.wrap(HttpClient.newHttpClient(), up);
    return uri ->
        c.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString())
            .statusCode();
  }

  private static Client failsafe() {
    HttpClient c = HttpClient.newHttpClient();
    RetryPolicy<HttpResponse<String>> retry =
        RetryPolicy.<HttpResponse<String>>builder()
            .handle(IOException.class)
            .handleResultIf(
                r ->
                    r.statusCode() == 503
                        || r.statusCode() == 502
                        || r.statusCode() == 504
                        || r.statusCode() == 429)
            .withMaxAttempts(3)
            .withBackoff(5, 50, ChronoUnit.MILLIS)
            .withJitter(0.5)
            .build();
    return uri ->
        Failsafe.with(retry)
            .get(
                () ->
                    c.send(
                        HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()))
            .statusCode();
  }

  private static void run(String name, Factory factory) throws Exception {
    try (FaultyServer up = new FaultyServer(0.20, 0.05, 42)) {
      Client client = name.startsWith("Failsafe") ? failsafe() : factory.create(up);
      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      AtomicLong errors = new AtomicLong();
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        int thread = t;
        done.add(
            pool.submit(
                () -> {
                  for (int i = thread; i < CALLS; i += THREADS) {
                    try {
                      if (client.get(up.uri("/item/" + (i % ITEMS))) != 200) {
                        errors.incrementAndGet();
                      }
                    } catch (Exception e) {
                      errors.incrementAndGet();
                    }
                  }
                  return null;
                }));
      }
      for (Future<?> f : done) {
        f.get();
      }
      pool.shutdown();
      long received = up.requests.get();
      System.out.printf(
          Locale.ROOT,
          "| %s | %d | %.2f %% | %d | %.2f× |%n",
          name,
          errors.get(),
          100.0 * errors.get() / CALLS,
          received,
          received / (double) CALLS);
    }
  }

  /** A keep-alive HTTP/1.1 server that answers 503 or resets at the given rates (seeded). */
  static final class FaultyServer implements AutoCloseable {
    final AtomicLong requests = new AtomicLong();
    private final ServerSocket listener;
    private final ExecutorService pool =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r);
              t.setDaemon(true);
              return t;
            });
    private final double p503;
    private final double pReset;
    private final SplittableRandom random;
    private final byte[] ok;

    FaultyServer(double p503, double pReset, long seed) throws IOException {
      this.p503 = p503;
      this.pReset = pReset;
      this.random = new SplittableRandom(seed);
      this.listener = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
      String body = "x".repeat(1024);
      this.ok =
          ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: max-age=0, stale-if-error=600\r\nContent-Length: "
                  + body.length()
                  + "\r\n\r\n"
                  + body)
              .getBytes(StandardCharsets.ISO_8859_1);
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

    URI uri(String path) {
      return URI.create("http://127.0.0.1:" + listener.getLocalPort() + path);
    }

    private void serve(Socket s) {
      try (s) {
        // buffered, as any real server reads: one system call per request head, not one per byte
        InputStream in = new java.io.BufferedInputStream(s.getInputStream());
        OutputStream out = s.getOutputStream();
        while (readHead(in)) {
          requests.incrementAndGet();
          double roll;
          synchronized (random) {
            roll = random.nextDouble();
          }
          if (roll < pReset) {
            s.setSoLinger(true, 0);
            return;
          }
          if (roll < pReset + p503) {
            out.write(
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy"
                    .getBytes(StandardCharsets.ISO_8859_1));
          } else {
            out.write(ok);
          }
          out.flush();
        }
      } catch (IOException e) {
        // the client went away
      }
    }

    private static boolean readHead(InputStream in) throws IOException {
      int state = 0;
      while (state < 4) {
        int b = in.read();
        if (b < 0) {
          return false;
        }
        state =
            (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3))
                ? state + 1
                : 0;
      }
      return true;
    }

    @Override
    public void close() throws IOException {
      listener.close();
      pool.shutdownNow();
    }
  }
}
