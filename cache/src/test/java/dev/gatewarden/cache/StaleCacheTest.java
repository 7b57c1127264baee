package dev.gatewarden.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StaleCacheTest {
  private final FakeTicker ticker = new FakeTicker();
  private final StaleCache cache = StaleCache.builder().ticker(ticker).build();
  private final CachePolicy policy = CachePolicy.defaults();

  private static Map<String, List<String>> headers(String... pairs) {
    Map<String, List<String>> h = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      h.computeIfAbsent(pairs[i], k -> new java.util.ArrayList<>()).add(pairs[i + 1]);
    }
    return h;
  }

  private StoreDecision store(CacheRequest r, String body, String... headerPairs) {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    return cache.store(r, 200, headers(headerPairs), b, 0, b.length, policy);
  }

  private static String body(StaleCopy copy) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    copy.response().writeBodyTo(out);
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void storesAnonymousGetAndServesItWithAgeAndCacheStatus() throws Exception {
    TestRequest r = TestRequest.get("/products");
    assertThat(store(r, "list", "Content-Type", "text/html")).isEqualTo(StoreDecision.STORED);
    ticker.advance(Duration.ofSeconds(90));
    StaleCopy copy = cache.lookup(r, policy).orElseThrow();
    assertThat(body(copy)).isEqualTo("list");
    assertThat(copy.ageSeconds()).isEqualTo(90);
    assertThat(copy.ttlSeconds()).isEqualTo(-90);
    assertThat(copy.response().header("content-type")).isEqualTo("text/html");
    assertThat(copy.cacheStatus("Gatewarden", 503))
        .isEqualTo("Gatewarden; fwd=request; fwd-status=503; ttl=-90; detail=stale-if-error");
    assertThat(copy.cacheStatus("Gatewarden", 0)).doesNotContain("fwd-status");
  }

  @Test
  void refusesCopyAfterPolicyWindow() {
    TestRequest r = TestRequest.get("/p");
    store(r, "x");
    ticker.advance(Duration.ofMinutes(59));
    assertThat(cache.lookup(r, policy)).isPresent();
    ticker.advance(Duration.ofMinutes(1));
    assertThat(cache.lookup(r, policy)).isEmpty();
  }

  @Test
  void servesCopyWithinStaleIfErrorWindowCountedAfterFreshness() {
    TestRequest r = TestRequest.get("/p");
    store(r, "x", "Cache-Control", "max-age=60, stale-if-error=7200");
    ticker.advance(Duration.ofSeconds(60 + 7199));
    StaleCopy copy = cache.lookup(r, policy).orElseThrow();
    assertThat(copy.ttlSeconds()).isEqualTo(60 - (60 + 7199));
    ticker.advance(Duration.ofSeconds(1));
    assertThat(cache.lookup(r, policy)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"max-age=30, must-revalidate", "max-age=30, proxy-revalidate", "s-maxage=30"})
  void refusesCopyPastFreshnessWhenRevalidationIsRequired(String cacheControl) {
    TestRequest r = TestRequest.get("/p");
    store(r, "x", "Cache-Control", cacheControl + ", stale-if-error=9999");
    ticker.advance(Duration.ofSeconds(29));
    assertThat(cache.lookup(r, policy)).isPresent();
    ticker.advance(Duration.ofSeconds(1));
    assertThat(cache.lookup(r, policy)).isEmpty();
  }

  @Test
  void malformedStaleIfErrorFallsBackToPolicyWindow() {
    TestRequest r = TestRequest.get("/p");
    store(r, "x", "Cache-Control", "stale-if-error=abc");
    ticker.advance(Duration.ofMinutes(30));
    assertThat(cache.lookup(r, policy)).isPresent();
  }

  @Test
  void routePolicyWindowApplies() {
    CachePolicy shortWindow = CachePolicy.builder().maxStale(Duration.ofSeconds(10)).build();
    TestRequest r = TestRequest.get("/p");
    byte[] b = {1};
    cache.store(r, 200, headers(), b, 0, 1, shortWindow);
    ticker.advance(Duration.ofSeconds(10));
    assertThat(cache.lookup(r, shortWindow)).isEmpty();
  }

  @Test
  void refusesRequestsWithCredentialsOrSession() {
    assertThat(store(TestRequest.get("/p").header("Authorization", "Bearer a"), "x"))
        .isEqualTo(StoreDecision.AUTHORIZATION);
    assertThat(store(TestRequest.get("/p").header("Cookie", "s=1"), "x"))
        .isEqualTo(StoreDecision.COOKIE);
    assertThat(store(TestRequest.get("/p").withSession(), "x")).isEqualTo(StoreDecision.SESSION);
    assertThat(cache.estimatedSize()).isZero();
  }

  @Test
  void cookiesMayBeIgnoredByExplicitOptIn() {
    CachePolicy optIn = CachePolicy.builder().ignoreRequestCookies(true).build();
    TestRequest r = TestRequest.get("/p").header("Cookie", "_ga=1");
    byte[] b = {1};
    assertThat(cache.store(r, 200, headers(), b, 0, 1, optIn)).isEqualTo(StoreDecision.STORED);
    assertThat(cache.lookup(r, optIn)).isPresent();
    assertThat(cache.lookup(r, policy)).as("not without the opt-in").isEmpty();
  }

  @Test
  void neverServesAnonymousCopyToSignedInRequest() {
    store(TestRequest.get("/p"), "anonymous");
    assertThat(cache.lookup(TestRequest.get("/p").header("Authorization", "Bearer u"), policy))
        .isEmpty();
    assertThat(cache.lookup(TestRequest.get("/p").withSession(), policy)).isEmpty();
    assertThat(cache.lookup(TestRequest.get("/p").header("Cookie", "sid=1"), policy)).isEmpty();
  }

  @Test
  void refusesNonGetAndNon200() {
    assertThat(store(new TestRequest("POST", "/p", null), "x")).isEqualTo(StoreDecision.NOT_GET);
    assertThat(store(new TestRequest("HEAD", "/p", null), "x")).isEqualTo(StoreDecision.NOT_GET);
    byte[] b = {1};
    assertThat(cache.store(TestRequest.get("/p"), 203, headers(), b, 0, 1, policy))
        .isEqualTo(StoreDecision.NOT_200);
  }

  @Test
  void refusesEachNonStorableResponse() {
    TestRequest r = TestRequest.get("/p");
    assertThat(store(r, "x", "Set-Cookie", "a=b")).isEqualTo(StoreDecision.SET_COOKIE);
    assertThat(store(r, "x", "set-cookie", "a=b")).isEqualTo(StoreDecision.SET_COOKIE);
    assertThat(store(r, "x", "Cache-Control", "max-age=60, PRIVATE"))
        .isEqualTo(StoreDecision.PRIVATE);
    assertThat(store(r, "x", "Cache-Control", "no-store")).isEqualTo(StoreDecision.NO_STORE);
    assertThat(store(r, "x", "Cache-Control", "no-cache=\"Set-Cookie\""))
        .isEqualTo(StoreDecision.NO_CACHE);
    assertThat(store(r, "x", "Pragma", "no-cache")).isEqualTo(StoreDecision.NO_CACHE);
    assertThat(store(r, "x", "Vary", "*")).isEqualTo(StoreDecision.VARY_STAR);
    assertThat(store(r, "x", "Vary", "Accept-Encoding", "vary", "accept, cookie"))
        .isEqualTo(StoreDecision.VARY_ON_CREDENTIALS);
    assertThat(store(r, "x", "Vary", "Authorization")).isEqualTo(StoreDecision.VARY_ON_CREDENTIALS);
    assertThat(cache.lookup(r, policy)).isEmpty();
  }

  @Test
  void pragmaIsIgnoredWhenCacheControlIsPresent() {
    assertThat(
            store(TestRequest.get("/p"), "x", "Cache-Control", "max-age=5", "Pragma", "no-cache"))
        .isEqualTo(StoreDecision.STORED);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/a;jsessionid=1",
        "/a%2Fb",
        "/a%2fb",
        "/a%5Cb",
        "/a%3Bb",
        "/a/%2E%2E/b",
        "/a%00",
        "/a\\b",
        "/a//b",
        "/a/./b",
        "/a/../b",
        "/a/.",
        "/a/.."
      })
  void refusesUnsafeUris(String path) {
    assertThat(store(TestRequest.get(path), "x")).isEqualTo(StoreDecision.UNSAFE_URI);
  }

  @Test
  void keepsVaryVariantsApart() throws Exception {
    TestRequest en = TestRequest.get("/p").header("Accept-Language", "en");
    TestRequest de = TestRequest.get("/p").header("Accept-Language", "de");
    store(en, "hello", "Vary", "Accept-Language");
    store(de, "hallo", "Vary", "Accept-Language");
    assertThat(body(cache.lookup(en, policy).orElseThrow())).isEqualTo("hello");
    assertThat(body(cache.lookup(de, policy).orElseThrow())).isEqualTo("hallo");
    assertThat(cache.lookup(TestRequest.get("/p").header("Accept-Language", "fr"), policy))
        .isEmpty();
    assertThat(cache.lookup(TestRequest.get("/p"), policy)).as("absent header").isEmpty();
    assertThat(cache.lookup(TestRequest.get("/p").header("Accept-Language", "  de "), policy))
        .as("whitespace is normalised")
        .isPresent();
  }

  @Test
  void newGoodResponseReplacesItsVariant() throws Exception {
    TestRequest r = TestRequest.get("/p");
    store(r, "v1");
    store(r, "v2");
    assertThat(body(cache.lookup(r, policy).orElseThrow())).isEqualTo("v2");
  }

  @Test
  void failureNeverReplacesGoodEntry() throws Exception {
    TestRequest r = TestRequest.get("/p");
    store(r, "good");
    byte[] b = "error".getBytes(StandardCharsets.UTF_8);
    assertThat(cache.store(r, 500, headers(), b, 0, b.length, policy))
        .isEqualTo(StoreDecision.NOT_200);
    assertThat(body(cache.lookup(r, policy).orElseThrow())).isEqualTo("good");
  }

  @Test
  void headRequestIsAnsweredFromGetEntry() throws Exception {
    TestRequest r = TestRequest.get("/p");
    store(r, "body");
    Optional<StaleCopy> copy = cache.lookup(r.method("HEAD"), policy);
    assertThat(copy).isPresent();
    assertThat(copy.get().response().bodyLength()).isEqualTo(4);
  }

  @Test
  void invalidationRemovesAllVariants() {
    TestRequest en = TestRequest.get("/p").header("Accept-Language", "en");
    TestRequest de = TestRequest.get("/p").header("Accept-Language", "de");
    store(en, "hello", "Vary", "Accept-Language");
    store(de, "hallo", "Vary", "Accept-Language");
    cache.invalidate(new TestRequest("POST", "/p", null));
    assertThat(cache.lookup(en, policy)).isEmpty();
    assertThat(cache.lookup(de, policy)).isEmpty();
  }

  @Test
  void keyIncludesHostAndQuery() {
    store(TestRequest.get("/p").host("a.example"), "a");
    assertThat(cache.lookup(TestRequest.get("/p").host("b.example"), policy)).isEmpty();
    assertThat(cache.lookup(TestRequest.get("/p").host("A.EXAMPLE"), policy)).isPresent();
    store(new TestRequest("GET", "/q", "page=1"), "one");
    assertThat(cache.lookup(new TestRequest("GET", "/q", "page=2"), policy)).isEmpty();
    assertThat(cache.lookup(new TestRequest("GET", "/q", null), policy)).isEmpty();
    assertThat(cache.lookup(new TestRequest("GET", "/q", "page=1"), policy)).isPresent();
  }

  @Test
  void dropsHopByHopAndAgeHeaders() {
    TestRequest r = TestRequest.get("/p");
    store(
        r,
        "x",
        "Connection",
        "close",
        "Age",
        "100",
        "Transfer-Encoding",
        "chunked",
        "ETag",
        "\"1\"");
    Map<String, List<String>> h = cache.lookup(r, policy).orElseThrow().response().headers();
    assertThat(h).containsOnlyKeys("ETag");
  }

  @Test
  void refusesEntryLargerThanPerEntryLimit() {
    StaleCache small =
        StaleCache.builder().maximumBytes(1 << 20).maximumEntryBytes(100).ticker(ticker).build();
    byte[] b = new byte[101];
    assertThat(small.store(TestRequest.get("/p"), 200, headers(), b, 0, b.length, policy))
        .isEqualTo(StoreDecision.TOO_LARGE);
    assertThat(small.store(TestRequest.get("/p"), 200, headers(), b, 0, 100, policy))
        .isEqualTo(StoreDecision.STORED);
  }

  @Test
  void boundsTotalBytes() {
    long max = 256 * 1024;
    StaleCache bounded =
        StaleCache.builder().maximumBytes(max).maximumEntryBytes(16 * 1024).ticker(ticker).build();
    byte[] b = new byte[10_000];
    for (int i = 0; i < 200; i++) {
      bounded.store(TestRequest.get("/p" + i), 200, headers(), b, 0, b.length, policy);
    }
    assertThat(bounded.weightedSize()).isLessThanOrEqualTo(max).isGreaterThan(max / 2);
    assertThat(bounded.estimatedSize()).isLessThan(200);
  }

  @Test
  void copiesTheBodyRangeSoCallersMayReuseTheirArray() throws Exception {
    byte[] b = "xxhelloxx".getBytes(StandardCharsets.UTF_8);
    TestRequest r = TestRequest.get("/p");
    cache.store(r, 200, headers(), b, 2, 5, policy);
    b[2] = 'J';
    assertThat(body(cache.lookup(r, policy).orElseThrow())).isEqualTo("hello");
  }

  @Test
  void disabledPolicyStoresAndServesNothing() {
    CachePolicy off = CachePolicy.builder().enabled(false).build();
    byte[] b = {1};
    assertThat(cache.store(TestRequest.get("/p"), 200, headers(), b, 0, 1, off))
        .isEqualTo(StoreDecision.DISABLED);
    store(TestRequest.get("/p"), "x");
    assertThat(cache.lookup(TestRequest.get("/p"), off)).isEmpty();
  }

  @Test
  void bindsCaffeinesOwnMeters() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    cache.bindTo(registry, "stale");
    cache.lookup(TestRequest.get("/none"), policy);
    assertThat(registry.find("cache.gets").tag("cache", "stale").meters()).isNotEmpty();
  }

  @Test
  void builderRejectsContradictions() {
    assertThatThrownBy(() -> StaleCache.builder().maximumBytes(10).maximumEntryBytes(11).build())
        .hasMessageContaining("maximumEntryBytes (11) cannot exceed maximumBytes (10)");
    assertThatThrownBy(() -> StaleCache.builder().maximumBytes(0))
        .hasMessageContaining("maximumBytes must be positive");
    assertThatThrownBy(() -> CachePolicy.builder().maxStale(Duration.ofSeconds(-1)))
        .hasMessageContaining("maxStale cannot be negative");
  }
}
