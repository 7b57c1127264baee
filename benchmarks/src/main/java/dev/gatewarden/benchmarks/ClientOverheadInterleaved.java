package dev.gatewarden.benchmarks;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The decorated/raw cost ratio for each client, robust to the drift of a shared machine: the raw
 * and the decorated client run in alternating blocks of calls (order swapped every round) against
 * the same loopback upstream, and each round gives one paired ratio; the median and quartiles of
 * those ratios are printed. JMH ({@link ClientOverheadBenchmark}) gives allocations per call; its
 * benchmarks run one after another, so a drift between them shows up as a cost. Same clients, same
 * 1 KB GET.
 *
 * <p>System properties: {@code overhead.rounds} (default 30), {@code overhead.calls} per block
 * (default 400), {@code overhead.warmup} rounds (default 15), {@code overhead.only} (run the pairs
 * whose name contains it), {@code overhead.stale=false} (decorated clients keep no stale copies).
 */
public final class ClientOverheadInterleaved {
  private ClientOverheadInterleaved() {}

  /** One client pair: raw and decorated, each a call that returns the body's length. */
  private record Pair(String name, Call raw, Call decorated) {}

  private interface Call {
    int call() throws Exception;
  }

  public static void main(String[] args) throws Exception {
    int rounds = Integer.getInteger("overhead.rounds", 30);
    int calls = Integer.getInteger("overhead.calls", 400);
    int warmup = Integer.getInteger("overhead.warmup", 15);
    ClientOverheadBenchmark b = new ClientOverheadBenchmark();
    b.start();
    try {
      List<Pair> pairs =
          List.of(
              new Pair("JDK HttpClient", b::jdkRaw, b::jdkDecorated),
              new Pair("OkHttp", b::okhttpRaw, b::okhttpDecorated),
              new Pair("Apache HttpClient 5", b::apacheRaw, b::apacheDecorated),
              new Pair("Spring RestClient", b::springRaw, b::springDecorated),
              new Pair(
                  "Spring, vs a no-op interceptor", b::springNoopInterceptor, b::springDecorated));
      System.out.printf(
          Locale.ROOT,
          "%d rounds of %d calls per client and side, %d warm-up rounds; ratio = decorated/raw%n",
          rounds,
          calls,
          warmup);
      System.out.printf(
          Locale.ROOT,
          "%-32s %10s %10s %8s %8s %8s%n",
          "client",
          "raw µs",
          "dec. µs",
          "q1",
          "median",
          "q3");
      String only = System.getProperty("overhead.only", "");
      for (Pair p : pairs) {
        if (!p.name.toLowerCase(Locale.ROOT).contains(only.toLowerCase(Locale.ROOT))) {
          continue;
        }
        for (int i = 0; i < warmup; i++) {
          block(p.raw, calls);
          block(p.decorated, calls);
        }
        double[] ratios = new double[rounds];
        double[] raw = new double[rounds];
        double[] dec = new double[rounds];
        for (int r = 0; r < rounds; r++) {
          long tRaw;
          long tDec;
          if (r % 2 == 0) {
            tRaw = block(p.raw, calls);
            tDec = block(p.decorated, calls);
          } else {
            tDec = block(p.decorated, calls);
            tRaw = block(p.raw, calls);
          }
          raw[r] = tRaw / 1000.0 / calls;
          dec[r] = tDec / 1000.0 / calls;
          ratios[r] = (double) tDec / tRaw;
        }
        Arrays.sort(ratios);
        System.out.printf(
            Locale.ROOT,
            "%-32s %10.0f %10.0f %8.3f %8.3f %8.3f%n",
            p.name,
            median(raw),
            median(dec),
            quantile(ratios, 0.25),
            quantile(ratios, 0.5),
            quantile(ratios, 0.75));
      }
    } finally {
      b.stop();
    }
  }

  private static long block(Call c, int calls) throws Exception {
    long sink = 0;
    long t0 = System.nanoTime();
    for (int i = 0; i < calls; i++) {
      sink += c.call();
    }
    long t = System.nanoTime() - t0;
    if (sink != 1024L * calls) {
      throw new IllegalStateException("unexpected body length: " + sink + " over " + calls);
    }
    return t;
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
