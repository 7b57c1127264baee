package dev.gatewarden.benchmarks;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The decorated/raw cost ratio for each client, robust to the drift of a shared machine: within a
 * round the raw and the decorated client take turns call by call (which one goes first alternates),
 * against the same loopback upstream, so both sides see the same machine at the same moments; each
 * round gives one paired ratio (decorated time / raw time, summed over its calls), and the median
 * and quartiles of those ratios are printed, with the pooled ratio over all rounds. JMH ({@link
 * ClientOverheadBenchmark}) gives allocations per call; its benchmarks run one after another, so a
 * drift between them shows up as a cost. Same clients, same 1 KB GET.
 *
 * <p>System properties: {@code overhead.rounds} (default 30), {@code overhead.calls} per block
 * (default 2000), {@code overhead.warmup} rounds (default 15), {@code overhead.only} (run the pairs
 * whose name contains it), {@code overhead.stale=false} (decorated clients keep no stale copies),
 * {@code overhead.upstream=jetty} (a servlet in Jetty 12 instead of the minimal socket server).
 *
 * <p>It also prints the calling thread's CPU time per call for the raw client and what the
 * decorated one adds to it (medians over the rounds): the adapter and the engine run on the calling
 * thread, so the added CPU is their cost, and it moves much less than elapsed time when other work
 * shares the machine. (The JDK client does part of its own I/O on its selector thread, so its raw
 * CPU figure is low; the added figure is still the adapter's and engine's.)
 */
public final class ClientOverheadInterleaved {
  private ClientOverheadInterleaved() {}

  private static final java.lang.management.ThreadMXBean THREADS =
      java.lang.management.ManagementFactory.getThreadMXBean();

  /** One client pair: raw and decorated, each a call that returns the body's length. */
  private record Pair(String name, Call raw, Call decorated) {}

  private interface Call {
    int call() throws Exception;
  }

  public static void main(String[] args) throws Exception {
    int rounds = Integer.getInteger("overhead.rounds", 30);
    int calls = Integer.getInteger("overhead.calls", 2000);
    int warmup = Integer.getInteger("overhead.warmup", 15);
    ClientOverheadBenchmark b = new ClientOverheadBenchmark();
    b.start();
    try {
      List<Pair> pairs =
          List.of(
              new Pair("JDK HttpClient", b::jdkRaw, b::jdkDecorated),
              new Pair("OkHttp", b::okhttpRaw, b::okhttpDecorated),
              new Pair(
                  "OkHttp, vs an interceptor that buffers the body",
                  b::okhttpBuffering,
                  b::okhttpDecorated),
              new Pair("Apache HttpClient 5", b::apacheRaw, b::apacheDecorated),
              new Pair(
                  "Apache, vs raw with a response timeout",
                  b::apacheRawWithResponseTimeout,
                  b::apacheDecorated),
              new Pair(
                  "Apache, vs a handler that buffers the body",
                  b::apacheBuffering,
                  b::apacheDecorated),
              new Pair("Spring RestClient", b::springRaw, b::springDecorated),
              new Pair(
                  "Spring, vs a no-op interceptor", b::springNoopInterceptor, b::springDecorated));
      System.out.printf(
          Locale.ROOT,
          "%d rounds of %d calls per client and side, %d warm-up rounds, %s upstream;"
              + " ratio = decorated/raw%n",
          rounds,
          calls,
          warmup,
          System.getProperty("overhead.upstream", "socket"));
      System.out.printf(
          Locale.ROOT,
          "%-32s %10s %10s %8s %8s %8s %8s %12s %12s%n",
          "client",
          "raw µs",
          "dec. µs",
          "q1",
          "median",
          "q3",
          "pooled",
          "raw CPU µs",
          "+CPU µs");
      String only = System.getProperty("overhead.only", "");
      for (Pair p : pairs) {
        if (!p.name.toLowerCase(Locale.ROOT).contains(only.toLowerCase(Locale.ROOT))) {
          continue;
        }
        for (int i = 0; i < warmup; i++) {
          round(p, calls);
        }
        double[] ratios = new double[rounds];
        double[] raw = new double[rounds];
        double[] dec = new double[rounds];
        double[] rawCpu = new double[rounds];
        double[] addedCpu = new double[rounds];
        long totalRaw = 0;
        long totalDec = 0;
        for (int r = 0; r < rounds; r++) {
          long[] t = round(p, calls);
          raw[r] = t[0] / 1000.0 / calls;
          dec[r] = t[1] / 1000.0 / calls;
          rawCpu[r] = t[2] / 1000.0 / calls;
          addedCpu[r] = (t[3] - t[2]) / 1000.0 / calls;
          ratios[r] = (double) t[1] / t[0];
          totalRaw += t[0];
          totalDec += t[1];
        }
        Arrays.sort(ratios);
        System.out.printf(
            Locale.ROOT,
            "%-32s %10.0f %10.0f %8.3f %8.3f %8.3f %8.3f %12.1f %12.2f%n",
            p.name,
            median(raw),
            median(dec),
            quantile(ratios, 0.25),
            quantile(ratios, 0.5),
            quantile(ratios, 0.75),
            (double) totalDec / totalRaw,
            median(rawCpu),
            median(addedCpu));
      }
    } finally {
      b.stop();
    }
  }

  /**
   * One round: {@code calls} raw and decorated calls taking turns; the nanoseconds of each side.
   */
  private static long[] round(Pair p, int calls) throws Exception {
    long[] nanos = new long[4]; // wall raw, wall decorated, CPU raw, CPU decorated
    for (int i = 0; i < calls; i++) {
      boolean rawFirst = i % 2 == 0;
      timed(rawFirst ? p.raw : p.decorated, nanos, rawFirst ? 0 : 1);
      timed(rawFirst ? p.decorated : p.raw, nanos, rawFirst ? 1 : 0);
    }
    return nanos;
  }

  private static void timed(Call c, long[] nanos, int side) throws Exception {
    long c0 = THREADS.getCurrentThreadCpuTime();
    long t0 = System.nanoTime();
    int length = c.call();
    nanos[side] += System.nanoTime() - t0;
    nanos[side + 2] += THREADS.getCurrentThreadCpuTime() - c0;
    if (length != 1024) {
      throw new IllegalStateException("unexpected body length: " + length);
    }
  }

  private static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    return quantile(v, 0.5);
  }

  private static double quantile(double[] sorted, double q) {
    double pos = q * (sorted.length - 1);
    int lo = (int) Math.floor(pos);
    int hi = (int) Math.ceil(pos);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  }
}
