package dev.gatewarden.benchmarks;

import dev.gatewarden.filter.GatewardenConfig;
import dev.gatewarden.filter.GatewardenFilter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;

/**
 * Requests per second through one Jetty server for three scenarios, measured side by side in
 * interleaved rounds so that drift on a shared machine affects all alike:
 *
 * <ul>
 *   <li>{@code bare}: a servlet answering 1 KB with {@code Cache-Control: no-store}, no filter;
 *   <li>{@code filtered}: the same servlet behind GatewardenFilter (the pass-through path:
 *       captured, not storable, sent unchanged);
 *   <li>{@code stale}: behind GatewardenFilter, the servlet answered once and now always throws, so
 *       every request is answered from the stale copy.
 * </ul>
 *
 * Load comes from {@code wrk} when it is on the PATH (one thread, fixed connections and duration),
 * else from a built-in keep-alive socket client. Only 127.0.0.1 is ever contacted; every run is
 * bounded in time. Options: {@code -Dbench.seconds=5 -Dbench.rounds=3 -Dbench.connections=32}.
 */
public final class FilterThroughput {
  private static final byte[] BODY = body();
  private static final Pattern RPS = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
  private static final Pattern LATENCY = Pattern.compile("\\s+(50|99)%\\s+([0-9.]+)(us|ms|s)");

  private FilterThroughput() {}

  private static byte[] body() {
    byte[] b = new byte[1024];
    Arrays.fill(b, (byte) 'x');
    return b;
  }

  public static void main(String[] args) throws Exception {
    int seconds = Integer.getInteger("bench.seconds", 5);
    int rounds = Integer.getInteger("bench.rounds", 3);
    int connections = Integer.getInteger("bench.connections", 32);
    boolean wrk = onPath("wrk");

    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    server.addConnector(connector);
    server.setHandler(
        new ContextHandlerCollection(
            context("/bare", false, false),
            context("/filtered", true, false),
            context("/stale", true, true)));
    server.start();
    String base = "http://127.0.0.1:" + connector.getLocalPort();
    try {
      verify(connector.getLocalPort());
      System.out.printf(
          Locale.ROOT,
          "# FilterThroughput: JDK %s, %d cores, Jetty %s, load by %s, %d connections, %d s x %d"
              + " rounds (+ warm-up)%n",
          System.getProperty("java.version"),
          Runtime.getRuntime().availableProcessors(),
          Server.getVersion(),
          wrk ? "wrk -t1" : "built-in keep-alive client (1 thread per connection)",
          connections,
          seconds,
          rounds);
      String[] scenarios = {"bare", "filtered", "stale"};
      for (String s : scenarios) { // warm-up: JIT, pools, the stale copy
        run(wrk, base, connector.getLocalPort(), s, connections, Math.max(2, seconds / 2));
      }
      Map<String, List<Result>> results = new LinkedHashMap<>();
      for (int r = 0; r < rounds; r++) {
        for (String s : scenarios) {
          Result res = run(wrk, base, connector.getLocalPort(), s, connections, seconds);
          results.computeIfAbsent(s, k -> new ArrayList<>()).add(res);
          System.out.printf(
              Locale.ROOT,
              "round %d %-9s %10.0f req/s  p50 %s  p99 %s%n",
              r + 1,
              s,
              res.rps,
              res.p50,
              res.p99);
        }
      }
      double bare = median(results.get("bare"));
      System.out.println();
      System.out.println("| scenario | req/s (median) | ratio to bare | p50 | p99 |");
      System.out.println("|---|---:|---:|---:|---:|");
      for (String s : scenarios) {
        double m = median(results.get(s));
        Result mid = closest(results.get(s), m);
        System.out.printf(
            Locale.ROOT, "| %s | %.0f | %.3f | %s | %s |%n", s, m, m / bare, mid.p50, mid.p99);
      }
    } finally {
      server.stop();
    }
  }

  private static ServletContextHandler context(
      String path, boolean filter, boolean failAfterFirst) {
    ServletContextHandler ctx = new ServletContextHandler();
    ctx.setContextPath(path);
    if (filter) {
      GatewardenConfig config =
          GatewardenConfig.builder().meterRegistry(new SimpleMeterRegistry()).build();
      ctx.addFilter(
          new FilterHolder(new GatewardenFilter(config)), "/*", EnumSet.of(DispatcherType.REQUEST));
    }
    AtomicBoolean answered = new AtomicBoolean();
    ctx.addServlet(
        new ServletHolder(
            new HttpServlet() {
              private static final long serialVersionUID = 1L;

              @Override
              protected void doGet(HttpServletRequest req, HttpServletResponse resp)
                  throws IOException {
                if (failAfterFirst && !answered.compareAndSet(false, true)) {
                  throw new IllegalStateException("the app is down");
                }
                resp.setContentType("text/plain");
                resp.setHeader(
                    "Cache-Control",
                    failAfterFirst ? "max-age=0, stale-if-error=86400" : "no-store");
                resp.getOutputStream().write(BODY);
              }
            }),
        "/page");
    return ctx;
  }

  private static void verify(int port) throws IOException {
    for (String s : new String[] {"bare", "filtered", "stale"}) { // the first stale call stores
      String head = rawGet(port, "/" + s + "/page");
      boolean ok = head.startsWith("HTTP/1.1 200") && head.contains("Content-Length: 1024");
      if (!ok) {
        throw new IllegalStateException("scenario " + s + " does not answer as expected:\n" + head);
      }
    }
    if (!rawGet(port, "/stale/page").contains("Cache-Status: Gatewarden")) {
      throw new IllegalStateException("the stale scenario is not served from the stale copy");
    }
  }

  private static String rawGet(int port, String path) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(5000);
      s.getOutputStream()
          .write(
              ("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }

  private record Result(double rps, String p50, String p99) {}

  private static Result run(
      boolean wrk, String base, int port, String scenario, int connections, int seconds)
      throws Exception {
    return wrk
        ? runWrk(base + "/" + scenario + "/page", connections, seconds)
        : runBuiltIn(port, "/" + scenario + "/page", connections, seconds);
  }

  private static Result runWrk(String url, int connections, int seconds) throws Exception {
    Process p =
        new ProcessBuilder("wrk", "-t1", "-c" + connections, "-d" + seconds + "s", "--latency", url)
            .redirectErrorStream(true)
            .start();
    StringBuilder out = new StringBuilder();
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        out.append(line).append('\n');
      }
    }
    p.waitFor();
    Matcher m = RPS.matcher(out);
    if (!m.find()) {
      throw new IllegalStateException("wrk said:\n" + out);
    }
    if (out.toString().contains("Non-2xx")) {
      throw new IllegalStateException("non-2xx answers during the run:\n" + out);
    }
    String p50 = "-";
    String p99 = "-";
    Matcher l = LATENCY.matcher(out);
    while (l.find()) {
      if (l.group(1).equals("50")) {
        p50 = l.group(2) + l.group(3);
      } else {
        p99 = l.group(2) + l.group(3);
      }
    }
    return new Result(Double.parseDouble(m.group(1)), p50, p99);
  }

  private static Result runBuiltIn(int port, String path, int connections, int seconds)
      throws Exception {
    LongAdder done = new LongAdder();
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    byte[] request =
        ("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII);
    List<Thread> threads = new ArrayList<>();
    for (int c = 0; c < connections; c++) {
      Thread t =
          new Thread(
              () -> {
                try (Socket s = new Socket("127.0.0.1", port)) {
                  s.setSoTimeout(5000);
                  OutputStream out = s.getOutputStream();
                  InputStream in = s.getInputStream();
                  while (System.nanoTime() < end) {
                    out.write(request);
                    readResponse(in);
                    done.increment();
                  }
                } catch (IOException e) {
                  throw new IllegalStateException(e);
                }
              });
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) {
      t.join();
    }
    return new Result(done.sum() / (double) seconds, "-", "-");
  }

  /** Reads one response with a Content-Length body. */
  private static void readResponse(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    int state = 0;
    while (state < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed");
      }
      head.append((char) b);
      state =
          (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3))
              ? state + 1
              : 0;
    }
    Matcher m = Pattern.compile("Content-Length: (\\d+)", Pattern.CASE_INSENSITIVE).matcher(head);
    if (!m.find() || !head.toString().startsWith("HTTP/1.1 200")) {
      throw new IOException("unexpected response: " + head);
    }
    in.readNBytes(Integer.parseInt(m.group(1)));
  }

  private static double median(List<Result> rs) {
    double[] v = rs.stream().mapToDouble(Result::rps).sorted().toArray();
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  private static Result closest(List<Result> rs, double value) {
    Result best = rs.get(0);
    for (Result r : rs) {
      if (Math.abs(r.rps - value) < Math.abs(best.rps - value)) {
        best = r;
      }
    }
    return best;
  }

  private static boolean onPath(String command) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (new java.io.File(dir, command).canExecute()) {
        return true;
      }
    }
    return false;
  }
}
