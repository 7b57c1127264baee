package dev.gatewarden.benchmarks;

import dev.gatewarden.resilience.ResilientHttpClient;
import dev.gatewarden.resilience.Upstream;
import dev.gatewarden.resilience.UpstreamPolicy;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a decorated call costs over the raw JDK client: a 1 KB GET on loopback, the same upstream,
 * side by side in one run. Run with {@code -prof gc} for allocations per call.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class ClientOverheadBenchmark {
  private FaultAbsorption.FaultyServer upstream;
  private HttpClient raw;
  private HttpClient decorated;
  private HttpRequest request;

  @Setup(Level.Trial)
  public void start() throws Exception {
    upstream = new FaultAbsorption.FaultyServer(0, 0, 1);
    URI uri = upstream.uri("/item/1");
    request = HttpRequest.newBuilder(uri).build();
    raw = HttpClient.newHttpClient();
    decorated =
        ResilientHttpClient.wrap(
            HttpClient.newHttpClient(),
            Upstream.builder(UpstreamPolicy.builder("upstream").build())
                .meterRegistry(new SimpleMeterRegistry())
                .build());
  }

  @TearDown(Level.Trial)
  public void stop() throws Exception {
    upstream.close();
  }

  @Benchmark
  public int rawClient() throws Exception {
    return raw.send(request, HttpResponse.BodyHandlers.ofByteArray()).body().length;
  }

  @Benchmark
  public int decoratedClient() throws Exception {
    return decorated.send(request, HttpResponse.BodyHandlers.ofByteArray()).body().length;
  }
}
