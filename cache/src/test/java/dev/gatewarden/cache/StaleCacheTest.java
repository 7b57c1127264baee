package dev.gatewarden.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StaleCacheTest {
  private final FakeTicker ticker = new FakeTicker();
  // replaces on every good response, so that the rules about replacing can be seen one by one;
  // the default refresh interval has its own test
  private final StaleCache cache =
      StaleCache.builder().ticker(ticker).refreshInterval(Duration.ZERO).build();
  private final CachePolicy policy = CachePolicy.defaults();

  /** Header pairs in order; a name given twice (in any spelling) adds a value or a line. */
  private static Map<String, List<String>> headers(String... pairs) {
    Map<String, List<String>> h = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      h.computeIfAbsent(pairs[i], k -> new ArrayList<>()).add(pairs[i + 1]);
    }
    return h;
  }

  private StoreDecision store(CacheRequest r, String body, String... headerPairs) {
    return store(cache, r, body, policy, headerPairs);
  }

  private static StoreDecision store(
      StaleCache cache, CacheRequest r, String body, CachePolicy policy, String... headerPairs) {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    return cache.store(r, 200, headers(headerPairs), b, 0, b.length, policy);
  }

  private static String body(StaleCopy copy) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    copy.response().writeBodyTo(out);
    return out.toString(StandardCharsets.UTF_8);
  }

  private String bodyFor(CacheRequest r) throws Exception {
    return body(cache.lookup(r, policy).orElseThrow());
  }

  // ---- serving and windows ---------------------------------------------------------------------

  @Test
  void storesAnonymousGetAndServesItWithAgeAndCacheStatus() throws Exception {
    TestRequest r = TestRequest.get("/products");
    assertThat(store(r, "list", "Content-Type", "text/html")).isEqualTo(StoreDecision.STORED);
    ticker.advance(Duration.ofSeconds(90));
    StaleCopy copy = cache.lookup(r, policy).orElseThrow();
    assertThat(body(copy)).isEqualTo("list");
    assertThat(copy.response().status()).isEqualTo(200);
    assertThat(copy.ageSeconds()).isEqualTo(90);
    assertThat(copy.ttlSeconds()).isEqualTo(-90);
    assertThat(copy.response().header("content-type")).isEqualTo("text/html");
    assertThat(copy.cacheStatus("Gatewarden", 503))
        .isEqualTo("Gatewarden; fwd=request; fwd-status=503; ttl=-90; detail=stale-if-error");
    assertThat(copy.cacheStatus("Gatewarden", 0))
        .isEqualTo("Gatewarden; fwd=request; ttl=-90; detail=stale-if-error");
  }

  @Test
  void ageIsInWholeSecondsRoundedDown() {
    TestRequest r = TestRequest.get("/p");
    store(r, "x");
    ticker.advance(Duration.ofMillis(1999));
    assertThat(cache.lookup(r, policy).orElseThrow().ageSeconds()).isEqualTo(1);
  }

  @Test
  void ttlIsTheFreshnessLeftAndPositiveWhileFresh() {
    TestRequest r = TestRequest.get("/p");
    store(r, "x", "Cache-Control", "max-age=100");
    ticker.advance(Duration.ofSeconds(30));
    StaleCopy copy = cache.lookup(r, policy).orElseThrow();
    assertThat(copy.ageSeconds()).isEqualTo(30);
    assertThat(copy.ttlSeconds()).isEqualTo(70);
    assertThat(copy.cacheStatus("Gatewarden", 502)).contains("; ttl=70;");
  }

  @Test
  void refusesCopyAfterPolicyWindow() {
    TestRequest r = TestRequest.get("/p");
    store(r, "x");
    ticker.advance(Duration.ofMinutes(60).minusNanos(1));
    assertThat(cache.lookup(r, policy)).isPresent();
    ticker.advance(Duration.ofNanos(1));
    assertThat(cache.lookup(r, policy)).isEmpty();
  }

  @Test
  void servesCopyWithinStaleIfErrorWindow() {
    TestRequest r = TestRequest.get("/p");
    store(r, "x", "Cache-Control", "max-age=60, stale-if-error=7200");
    ticker.advance(Duration.ofSeconds(60 + 7199));
    StaleCopy copy = cache.lookup(r, policy).orElseThrow();
    assertThat(copy.ttlSeconds()).isEqualTo(60 - (60 + 7199));
    ticker.advance(Duration.ofSeconds(1));
    assertThat(cache.lookup(r, policy)).isEmpty();
  }

  @Test
  void staleIfErrorMayBeShorterThanThePolicyWindow() {
    TestRequest r = TestRequest.get("/p");
    store(r, "x", "Cache-Control", "stale-if-error=10");
    ticker.advance(Duration.ofSeconds(10));
    assertThat(cache.lookup(r, policy)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"max-age=30, must-revalidate", "max-age=30, proxy-revalidate", "s-maxage=30"})
  void refusesCopyPastMustRevalidateFreshness(String cacheControl) {
    TestRequest r = TestRequest.get("/p");
    store(r, "x", "Cache-Control", cacheControl + ", stale-if-error=9999");
    ticker.advance(Duration.ofSeconds(29));
    assertThat(cache.lookup(r, policy)).isPresent();
    ticker.advance(Duration.ofSeconds(1));
    assertThat(cache.lookup(r, policy)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"must-revalidate", "max-age=abc, must-revalidate", "s-maxage=soon"})
  void copyWithoutFreshnessThatMustRevalidateIsNeverServed(String cacheControl) {
    TestRequest r = TestRequest.get("/p");
    assertThat(store(r, "x", "Cache-Control", cacheControl)).isEqualTo(StoreDecision.STORED);
    assertThat(cache.lookup(r, policy)).isEmpty();
  }

  @Test
  void malformedStaleIfErrorFallsBackToPolicyMaxStale() {
    TestRequest r = TestRequest.get("/p");
    store(r, "x", "Cache-Control", "stale-if-error=abc");
    ticker.advance(Duration.ofMinutes(59));
    assertThat(cache.lookup(r, policy)).isPresent();
    ticker.advance(Duration.ofMinutes(1));
    assertThat(cache.lookup(r, policy)).isEmpty();
  }

  @Test
  void windowIsDecidedByThePolicyGivenAtStoreTime() {
    CachePolicy shortWindow = CachePolicy.builder().maxStale(Duration.ofSeconds(10)).build();
    TestRequest r = TestRequest.get("/p");
    store(cache, r, "x", shortWindow);
    ticker.advance(Duration.ofSeconds(10));
    assertThat(cache.lookup(r, shortWindow)).isEmpty();
    assertThat(cache.lookup(r, policy)).as("a longer policy at lookup changes nothing").isEmpty();
  }

  @Test
  void subSecondPolicyWindowIsHonoured() {
    CachePolicy tiny = CachePolicy.builder().maxStale(Duration.ofMillis(500)).build();
    TestRequest r = TestRequest.get("/p");
    store(cache, r, "x", tiny);
    ticker.advance(Duration.ofMillis(499));
    assertThat(cache.lookup(r, tiny)).isPresent();
    ticker.advance(Duration.ofMillis(1));
    assertThat(cache.lookup(r, tiny)).isEmpty();
  }

  @Test
  void zeroWindowCopyIsStoredButNeverServedAndExpiresAtOnce() {
    CachePolicy none = CachePolicy.builder().maxStale(Duration.ZERO).build();
    TestRequest r = TestRequest.get("/p");
    assertThat(store(cache, r, "x", none)).isEqualTo(StoreDecision.STORED);
    assertThat(cache.lookup(r, none)).isEmpty();
    ticker.advance(Duration.ofSeconds(2)); // Caffeine's timer wheel turns in ~1 s steps
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isZero();
  }

  @Test
  void entryExpiresByItselfAtTheEndOfItsLongestVariantWindow() {
    TestRequest en = TestRequest.get("/p").header("Accept-Language", "en");
    TestRequest de = TestRequest.get("/p").header("Accept-Language", "de");
    store(en, "hello", "Vary", "Accept-Language", "Cache-Control", "stale-if-error=10");
    store(de, "hallo", "Vary", "Accept-Language", "Cache-Control", "stale-if-error=100");
    ticker.advance(Duration.ofSeconds(50));
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isEqualTo(1);
    assertThat(cache.lookup(en, policy)).isEmpty();
    assertThat(cache.lookup(de, policy)).isPresent();
    ticker.advance(Duration.ofSeconds(50));
    assertThat(cache.lookup(de, policy)).isEmpty();
    ticker.advance(Duration.ofSeconds(2)); // Caffeine's timer wheel turns in ~1 s steps
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isZero();
  }

  @Test
  void hugeWindowsDoNotOverflow() {
    CachePolicy forever =
        CachePolicy.builder().maxStale(Duration.ofSeconds(Long.MAX_VALUE)).build();
    TestRequest r = TestRequest.get("/p");
    store(cache, r, "x", forever);
    store(
        TestRequest.get("/q"),
        "y",
        "Cache-Control",
        "max-age=99999999999999999999, must-revalidate");
    ticker.advance(Duration.ofDays(365 * 50));
    assertThat(cache.lookup(r, forever)).isPresent();
    assertThat(cache.lookup(TestRequest.get("/q"), policy)).isPresent();
  }

  // ---- request rules ---------------------------------------------------------------------------

  @Test
  void refusesRequestWithAuthorization() {
    TestRequest r = TestRequest.get("/p").header("Authorization", "Bearer a");
    assertThat(store(r, "x")).isEqualTo(StoreDecision.AUTHORIZATION);
    assertThat(cache.checkRequest(r, policy)).isEqualTo(StoreDecision.AUTHORIZATION);
    assertThat(cache.estimatedSize()).isZero();
  }

  @Test
  void refusesRequestWithCookie() {
    assertThat(store(TestRequest.get("/p").header("cookie", "s=1"), "x"))
        .isEqualTo(StoreDecision.COOKIE);
    assertThat(cache.estimatedSize()).isZero();
  }

  @Test
  void refusesRequestWithSession() {
    assertThat(store(TestRequest.get("/p").withSession(), "x")).isEqualTo(StoreDecision.SESSION);
    assertThat(cache.estimatedSize()).isZero();
  }

  @Test
  void refusesRequestOfAnAuthenticatedUser() {
    assertThat(store(TestRequest.get("/p").withAuthenticatedUser(), "x"))
        .isEqualTo(StoreDecision.AUTHENTICATED);
    assertThat(cache.estimatedSize()).isZero();
  }

  @Test
  void cookiesMayBeIgnoredByExplicitOptInButAuthorizationNever() {
    CachePolicy optIn = CachePolicy.builder().ignoreRequestCookies(true).build();
    TestRequest r = TestRequest.get("/p").header("Cookie", "_ga=1");
    assertThat(store(cache, r, "x", optIn)).isEqualTo(StoreDecision.STORED);
    assertThat(cache.lookup(r, optIn)).isPresent();
    assertThat(cache.lookup(r, policy)).as("not without the opt-in").isEmpty();
    assertThat(store(cache, r.header("Authorization", "Basic x"), "x", optIn))
        .isEqualTo(StoreDecision.AUTHORIZATION);
  }

  @Test
  void neverServesAnonymousCopyToSignedInRequest() {
    store(TestRequest.get("/p"), "anonymous");
    assertThat(cache.lookup(TestRequest.get("/p").header("Authorization", "Bearer u"), policy))
        .isEmpty();
    assertThat(cache.lookup(TestRequest.get("/p").withSession(), policy)).isEmpty();
    assertThat(cache.lookup(TestRequest.get("/p").header("Cookie", "sid=1"), policy)).isEmpty();
    assertThat(cache.lookup(TestRequest.get("/p").withAuthenticatedUser(), policy)).isEmpty();
    assertThat(cache.lookup(TestRequest.get("/p"), policy)).isPresent();
  }

  @ParameterizedTest
  @ValueSource(strings = {"POST", "PUT", "DELETE", "HEAD", "OPTIONS", "get"})
  void refusesRequestsOtherThanGet(String method) {
    assertThat(store(new TestRequest(method, "/p", null), "x")).isEqualTo(StoreDecision.NOT_GET);
  }

  @Test
  void unsafeMethodsAreNeverAnsweredWithACopy() {
    store(TestRequest.get("/p"), "x");
    assertThat(cache.lookup(new TestRequest("POST", "/p", null), policy)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/a;jsessionid=1",
        "/a/b;v=1/c",
        "/a%2Fb",
        "/a%2fb",
        "/a%5Cb",
        "/a%5cb",
        "/a%3Bb",
        "/a%3bb",
        "/a/%2E%2E/b",
        "/a/%2e",
        "/a%00",
        "/a\\b",
        "/a//b",
        "//a",
        "/a/./b",
        "/a/../b",
        "/a/.",
        "/a/..",
        "/./a",
        "a/b",
        ""
      })
  void refusesUnsafeUris(String path) {
    assertThat(store(TestRequest.get(path), "x")).isEqualTo(StoreDecision.UNSAFE_URI);
  }

  @Test
  void refusesNulInTheQuery() {
    assertThat(store(new TestRequest("GET", "/a", "q=%00"), "x"))
        .isEqualTo(StoreDecision.UNSAFE_URI);
  }

  @ParameterizedTest
  @ValueSource(strings = {"/", "/caf%C3%A9", "/a%20b", "/a.b/c..d", "/.well-known/x", "/a/b/"})
  void acceptsOrdinaryUris(String path) {
    assertThat(store(TestRequest.get(path), "x")).isEqualTo(StoreDecision.STORED);
  }

  // ---- response rules --------------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(ints = {201, 203, 204, 206, 301, 304, 404, 500, 503})
  void refusesResponsesOtherThan200(int status) {
    byte[] b = {1};
    assertThat(cache.store(TestRequest.get("/p"), status, headers(), b, 0, 1, policy))
        .isEqualTo(StoreDecision.NOT_200);
  }

  @ParameterizedTest
  @ValueSource(strings = {"Set-Cookie", "set-cookie", "SET-COOKIE", "Set-Cookie2"})
  void refusesResponseWithSetCookie(String name) {
    assertThat(store(TestRequest.get("/p"), "x", name, "a=b")).isEqualTo(StoreDecision.SET_COOKIE);
  }

  @Test
  void refusesSetCookieEvenWhenConnectionNamesIt() {
    assertThat(store(TestRequest.get("/p"), "x", "Connection", "Set-Cookie", "Set-Cookie", "a=b"))
        .isEqualTo(StoreDecision.SET_COOKIE);
  }

  @ParameterizedTest
  @ValueSource(strings = {"private", "max-age=60, PRIVATE", "private=\"Set-Cookie\""})
  void refusesPrivateResponse(String cacheControl) {
    assertThat(store(TestRequest.get("/p"), "x", "Cache-Control", cacheControl))
        .isEqualTo(StoreDecision.PRIVATE);
  }

  @Test
  void refusesNoStoreResponse() {
    assertThat(store(TestRequest.get("/p"), "x", "cache-control", "No-Store"))
        .isEqualTo(StoreDecision.NO_STORE);
  }

  @ParameterizedTest
  @ValueSource(strings = {"no-cache", "no-cache=\"Set-Cookie\"", "max-age=5, no-cache"})
  void refusesNoCacheResponse(String cacheControl) {
    assertThat(store(TestRequest.get("/p"), "x", "Cache-Control", cacheControl))
        .isEqualTo(StoreDecision.NO_CACHE);
  }

  @Test
  void refusesPragmaNoCacheWithoutCacheControl() {
    assertThat(store(TestRequest.get("/p"), "x", "pragma", "No-Cache"))
        .isEqualTo(StoreDecision.NO_CACHE);
    assertThat(store(TestRequest.get("/p"), "x", "Pragma", "x-no-cache-ish"))
        .as("another pragma directive")
        .isEqualTo(StoreDecision.STORED);
  }

  @Test
  void pragmaIsIgnoredWhenCacheControlIsPresent() {
    assertThat(
            store(TestRequest.get("/p"), "x", "Cache-Control", "max-age=5", "Pragma", "no-cache"))
        .isEqualTo(StoreDecision.STORED);
  }

  @ParameterizedTest
  @ValueSource(strings = {"*", "Accept-Encoding, *", " * "})
  void refusesVaryStar(String vary) {
    assertThat(store(TestRequest.get("/p"), "x", "Vary", vary)).isEqualTo(StoreDecision.VARY_STAR);
  }

  @Test
  void refusesVaryOnCookieInLowerCaseAcrossTwoVaryHeaders() {
    TestRequest r = TestRequest.get("/p");
    assertThat(store(r, "x", "Vary", "Accept-Encoding", "vary", "accept, cookie"))
        .isEqualTo(StoreDecision.VARY_ON_CREDENTIALS);
    assertThat(cache.lookup(r, policy)).isEmpty();
  }

  @Test
  void refusesVaryOnAuthorization() {
    assertThat(store(TestRequest.get("/p"), "x", "Vary", "AUTHORIZATION"))
        .isEqualTo(StoreDecision.VARY_ON_CREDENTIALS);
  }

  @Test
  void refusesEntryLargerThanPerEntryLimit() {
    StaleCache small =
        StaleCache.builder().maximumBytes(1 << 20).maximumEntryBytes(100).ticker(ticker).build();
    byte[] b = new byte[101];
    assertThat(small.store(TestRequest.get("/p"), 200, headers(), b, 0, b.length, policy))
        .isEqualTo(StoreDecision.TOO_LARGE);
    assertThat(small.estimatedSize()).isZero();
    assertThat(small.store(TestRequest.get("/p"), 200, headers(), b, 0, 100, policy))
        .isEqualTo(StoreDecision.STORED);
  }

  @Test
  void failureNeverReplacesGoodEntry() throws Exception {
    TestRequest r = TestRequest.get("/p");
    store(r, "good");
    byte[] b = "error".getBytes(StandardCharsets.UTF_8);
    assertThat(cache.store(r, 500, headers(), b, 0, b.length, policy))
        .isEqualTo(StoreDecision.NOT_200);
    assertThat(store(r, "secret", "Set-Cookie", "s=1")).isEqualTo(StoreDecision.SET_COOKIE);
    assertThat(bodyFor(r)).isEqualTo("good");
  }

  // ---- stored headers --------------------------------------------------------------------------

  @Test
  void dropsHopByHopAndAgeHeadersButKeepsDate() {
    TestRequest r = TestRequest.get("/p");
    store(
        r,
        "x",
        "Connection",
        "close, X-Hop",
        "X-Hop",
        "1",
        "Keep-Alive",
        "timeout=5",
        "Age",
        "100",
        "Transfer-Encoding",
        "chunked",
        "TE",
        "trailers",
        "Trailer",
        "X-Sum",
        "Upgrade",
        "h2c",
        "Proxy-Authenticate",
        "Basic",
        "Proxy-Authorization",
        "Basic x",
        "Date",
        "Tue, 24 Nov 2026 22:00:00 GMT",
        "ETag",
        "\"1\"");
    Map<String, List<String>> h = cache.lookup(r, policy).orElseThrow().response().headers();
    assertThat(h).containsOnlyKeys("Date", "ETag");
  }

  @Test
  void keepsHeaderOrderValueOrderAndFirstSpelling() {
    TestRequest r = TestRequest.get("/p");
    store(r, "x", "X-B", "1", "Content-Type", "text/plain", "x-b", "2", "X-A", "3", "X-B", "4");
    Map<String, List<String>> h = cache.lookup(r, policy).orElseThrow().response().headers();
    assertThat(h.keySet()).containsExactly("X-B", "Content-Type", "X-A");
    assertThat(h.get("x-B")).containsExactly("1", "4", "2");
    assertThat(h.containsKey("CONTENT-TYPE")).isTrue();
    assertThatThrownBy(() -> h.put("X-C", List.of("5")))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> h.get("X-B").add("6"))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void copiesTheBodyRangeSoCallersMayReuseTheirArray() throws Exception {
    byte[] b = "xxhelloxx".getBytes(StandardCharsets.UTF_8);
    TestRequest r = TestRequest.get("/p");
    cache.store(r, 200, headers(), b, 2, 5, policy);
    b[2] = 'J';
    assertThat(bodyFor(r)).isEqualTo("hello");
  }

  @Test
  void copiesTheHeadersSoCallersMayReuseTheirMap() {
    TestRequest r = TestRequest.get("/p");
    Map<String, List<String>> h = headers("ETag", "\"1\"");
    byte[] b = {1};
    cache.store(r, 200, h, b, 0, 1, policy);
    h.get("ETag").set(0, "\"2\"");
    h.put("Set-Cookie", List.of("late=1"));
    assertThat(cache.lookup(r, policy).orElseThrow().response().headers())
        .containsOnlyKeys("ETag")
        .containsEntry("ETag", List.of("\"1\""));
  }

  @Test
  void rejectsABodyRangeOutsideTheArray() {
    byte[] b = new byte[4];
    assertThatThrownBy(() -> cache.store(TestRequest.get("/p"), 200, headers(), b, 2, 3, policy))
        .isInstanceOf(IndexOutOfBoundsException.class);
  }

  // ---- keys and variants -----------------------------------------------------------------------

  @Test
  void keepsVaryVariantsApart() throws Exception {
    TestRequest en = TestRequest.get("/p").header("Accept-Language", "en");
    TestRequest de = TestRequest.get("/p").header("Accept-Language", "de");
    store(en, "hello", "Vary", "Accept-Language");
    store(de, "hallo", "Vary", "Accept-Language");
    assertThat(bodyFor(en)).isEqualTo("hello");
    assertThat(bodyFor(de)).isEqualTo("hallo");
    assertThat(cache.lookup(TestRequest.get("/p").header("Accept-Language", "fr"), policy))
        .isEmpty();
    assertThat(cache.lookup(TestRequest.get("/p"), policy)).as("absent header").isEmpty();
    assertThat(bodyFor(TestRequest.get("/p").header("accept-language", "  de ")))
        .as("whitespace is trimmed")
        .isEqualTo("hallo");
  }

  @Test
  void collapsesInnerWhitespaceOfVaryValues() throws Exception {
    store(TestRequest.get("/p").header("Accept", "text/html,  */*"), "html", "Vary", "Accept");
    assertThat(bodyFor(TestRequest.get("/p").header("Accept", "text/html,\t*/*")))
        .isEqualTo("html");
    assertThat(cache.lookup(TestRequest.get("/p").header("Accept", "text/html,*/*"), policy))
        .as("whitespace is collapsed, not removed")
        .isEmpty();
  }

  @Test
  void missingVaryHeaderDiffersFromEmptyOne() throws Exception {
    store(TestRequest.get("/p"), "absent", "Vary", "X-Flag");
    store(TestRequest.get("/p").header("X-Flag", ""), "empty", "Vary", "X-Flag");
    assertThat(bodyFor(TestRequest.get("/p"))).isEqualTo("absent");
    assertThat(bodyFor(TestRequest.get("/p").header("X-Flag", " "))).isEqualTo("empty");
  }

  @Test
  void varyNamesMatchInAnyOrderCaseOrSplitting() throws Exception {
    TestRequest r =
        TestRequest.get("/p").header("Accept-Language", "en").header("Accept-Encoding", "gzip");
    store(r, "v1", "Vary", "Accept-Language, Accept-Encoding");
    store(r, "v2", "vary", "accept-encoding", "Vary", "ACCEPT-LANGUAGE");
    assertThat(bodyFor(r)).isEqualTo("v2");
    cache.cleanUp();
    long oneVariant = cache.weightedSize();
    store(r.header("Accept-Language", "de"), "v3", "Vary", "Accept-Encoding,Accept-Language");
    cache.cleanUp();
    assertThat(cache.weightedSize()).as("a second variant was added").isGreaterThan(oneVariant);
  }

  @Test
  void aCopyYoungerThanTheRefreshIntervalIsKept() throws Exception {
    StaleCache busy = StaleCache.builder().ticker(ticker).build(); // the default: 5 s
    TestRequest r = TestRequest.get("/p");
    assertThat(busy.hasRecentCopy(r)).isFalse();
    assertThat(store(busy, r, "v1", policy)).isEqualTo(StoreDecision.STORED);
    ticker.advance(Duration.ofMillis(4_999));
    assertThat(busy.hasRecentCopy(r)).isTrue();
    assertThat(busy.hasRecentCopy(TestRequest.get("/other"))).isFalse();
    assertThat(store(busy, r, "v2", policy)).isEqualTo(StoreDecision.RECENT_COPY_KEPT);
    assertThat(
            store(busy, TestRequest.get("/p").header("Authorization", "Bearer x"), "mine", policy))
        .as("a refusal is still reported as such")
        .isEqualTo(StoreDecision.AUTHORIZATION);
    assertThat(body(busy.lookup(r, policy).orElseThrow())).isEqualTo("v1");
    ticker.advance(Duration.ofMillis(1));
    assertThat(busy.hasRecentCopy(r)).isFalse();
    assertThat(store(busy, r, "v3", policy)).isEqualTo(StoreDecision.STORED);
    assertThat(body(busy.lookup(r, policy).orElseThrow())).isEqualTo("v3");
    assertThatThrownBy(() -> StaleCache.builder().refreshInterval(Duration.ofSeconds(-1)))
        .hasMessageContaining("refreshInterval");
  }

  @Test
  void theRecentCopyCheckMatchesTheWholeAddressAndForgetsAnInvalidatedCopy() {
    StaleCache busy = StaleCache.builder().ticker(ticker).build();
    TestRequest r = new TestRequest("GET", "/p", "a=1").host("Shop.example");
    assertThat(store(busy, r, "v1", policy)).isEqualTo(StoreDecision.STORED);
    assertThat(busy.hasRecentCopy(new TestRequest("GET", "/p", "a=1").host("shop.EXAMPLE")))
        .isTrue();
    assertThat(busy.hasRecentCopy(new TestRequest("GET", "/p", "a=2").host("shop.example")))
        .isFalse();
    assertThat(busy.hasRecentCopy(TestRequest.get("/p").host("shop.example"))).isFalse();
    assertThat(busy.hasRecentCopy(new TestRequest("GET", "/q", "a=1").host("shop.example")))
        .isFalse();
    assertThat(busy.hasRecentCopy(new TestRequest("GET", "/p", "a=1").host("other.example")))
        .isFalse();
    busy.invalidate(new TestRequest("GET", "/p", "a=1").method("POST").host("shop.example"));
    assertThat(busy.hasRecentCopy(r)).isFalse();
    assertThat(store(busy, r, "v2", policy))
        .as("an invalidated copy is stored again at once")
        .isEqualTo(StoreDecision.STORED);
  }

  @Test
  void theRecentCopyCheckEndsWithTheCopysStaleWindow() {
    StaleCache busy =
        StaleCache.builder().ticker(ticker).refreshInterval(Duration.ofSeconds(10)).build();
    TestRequest r = TestRequest.get("/short");
    assertThat(store(busy, r, "v1", policy, "Cache-Control", "stale-if-error=2"))
        .isEqualTo(StoreDecision.STORED);
    assertThat(busy.hasRecentCopy(r)).isTrue();
    ticker.advance(Duration.ofSeconds(3)); // the copy's window is over, the interval is not
    assertThat(busy.hasRecentCopy(r)).isFalse();
    assertThat(store(busy, r, "v2", policy, "Cache-Control", "stale-if-error=2"))
        .isEqualTo(StoreDecision.STORED);
  }

  /** Stores a variant by {@code Accept-Language} with this {@code Cache-Control}. */
  private StoreDecision byLanguage(
      StaleCache busy, TestRequest r, String body, String cacheControl) {
    return store(busy, r, body, policy, "Vary", "Accept-Language", "Cache-Control", cacheControl);
  }

  @Test
  void theRecentCopyCheckEndsWithAVariantsStaleWindow() {
    // a Vary page is checked in Caffeine (no last-stored shortcut), whose entry lives as long as
    // its longest window: here the German variant's, while the English one's is over
    StaleCache busy =
        StaleCache.builder().ticker(ticker).refreshInterval(Duration.ofSeconds(10)).build();
    TestRequest en = TestRequest.get("/v").header("Accept-Language", "en");
    TestRequest de = TestRequest.get("/v").header("Accept-Language", "de");
    assertThat(byLanguage(busy, en, "hello", "stale-if-error=2")).isEqualTo(StoreDecision.STORED);
    assertThat(byLanguage(busy, de, "hallo", "stale-if-error=600")).isEqualTo(StoreDecision.STORED);
    assertThat(busy.hasRecentCopy(en)).isTrue();
    ticker.advance(Duration.ofSeconds(3)); // en's window is over, the refresh interval is not
    assertThat(busy.hasRecentCopy(en)).isFalse();
    assertThat(busy.hasRecentCopy(de)).isTrue();
    assertThat(byLanguage(busy, en, "hello again", "stale-if-error=2"))
        .isEqualTo(StoreDecision.STORED);
  }

  @Test
  void theRecentCopyCheckNeverTakesOneVariantForAnother() {
    StaleCache busy = StaleCache.builder().ticker(ticker).build();
    TestRequest en = TestRequest.get("/v").header("Accept-Language", "en");
    TestRequest de = TestRequest.get("/v").header("Accept-Language", "de");
    assertThat(store(busy, en, "hello", policy, "Vary", "Accept-Language"))
        .isEqualTo(StoreDecision.STORED);
    assertThat(busy.hasRecentCopy(en)).isTrue();
    assertThat(busy.hasRecentCopy(de)).isFalse();
    assertThat(store(busy, de, "hallo", policy, "Vary", "Accept-Language"))
        .isEqualTo(StoreDecision.STORED);
  }

  @Test
  void newGoodResponseReplacesItsVariant() throws Exception {
    TestRequest r = TestRequest.get("/p");
    store(r, "v1");
    cache.cleanUp();
    long before = cache.weightedSize();
    store(r, "v2");
    cache.cleanUp();
    assertThat(bodyFor(r)).isEqualTo("v2");
    assertThat(cache.weightedSize()).isEqualTo(before);
  }

  @Test
  void keepsAtMostSixteenVariantsDroppingTheOldest() {
    for (int i = 0; i <= StaleCache.MAX_VARIANTS; i++) {
      store(TestRequest.get("/p").header("X-V", "v" + i), "body" + i, "Vary", "X-V");
    }
    assertThat(cache.lookup(TestRequest.get("/p").header("X-V", "v0"), policy)).isEmpty();
    for (int i = 1; i <= StaleCache.MAX_VARIANTS; i++) {
      assertThat(cache.lookup(TestRequest.get("/p").header("X-V", "v" + i), policy))
          .as("variant %d", i)
          .isPresent();
    }
  }

  @Test
  void newestMatchingVariantDecides() throws Exception {
    TestRequest en = TestRequest.get("/p").header("Accept-Language", "en");
    TestRequest de = TestRequest.get("/p").header("Accept-Language", "de");
    store(en, "plain");
    store(en, "english", "Vary", "Accept-Language", "Cache-Control", "max-age=10, must-revalidate");
    assertThat(bodyFor(en)).isEqualTo("english");
    assertThat(bodyFor(de)).as("the older copy without Vary still fits").isEqualTo("plain");
    ticker.advance(Duration.ofSeconds(10));
    assertThat(cache.lookup(en, policy))
        .as("the newest copy forbids stale; the older one is not served instead")
        .isEmpty();
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
    store(TestRequest.get("/other"), "other");
    cache.invalidate(new TestRequest("POST", "/p", null));
    assertThat(cache.lookup(en, policy)).isEmpty();
    assertThat(cache.lookup(de, policy)).isEmpty();
    assertThat(cache.lookup(TestRequest.get("/other"), policy)).isPresent();
  }

  @Test
  void keyIncludesHostAndQuery() {
    store(TestRequest.get("/p").host("a.example"), "a");
    assertThat(cache.lookup(TestRequest.get("/p").host("b.example"), policy)).isEmpty();
    assertThat(cache.lookup(TestRequest.get("/p").host("A.EXAMPLE"), policy)).isPresent();
    store(new TestRequest("GET", "/q", "page=1"), "one");
    assertThat(cache.lookup(new TestRequest("GET", "/q", "page=2"), policy)).isEmpty();
    assertThat(cache.lookup(new TestRequest("GET", "/q", null), policy)).isEmpty();
    assertThat(cache.lookup(new TestRequest("GET", "/q", ""), policy)).isEmpty();
    assertThat(cache.lookup(new TestRequest("GET", "/q", "page=1"), policy)).isPresent();
    assertThat(cache.lookup(TestRequest.get("/P"), policy))
        .as("paths are case-sensitive")
        .isEmpty();
  }

  // ---- bounds, policy, metrics, builder --------------------------------------------------------

  @Test
  void boundsTotalBytes() {
    long max = 256 * 1024;
    StaleCache bounded =
        StaleCache.builder().maximumBytes(max).maximumEntryBytes(16 * 1024).ticker(ticker).build();
    byte[] b = new byte[10_000];
    for (int i = 0; i < 200; i++) {
      bounded.store(TestRequest.get("/p" + i), 200, headers(), b, 0, b.length, policy);
    }
    bounded.cleanUp();
    assertThat(bounded.weightedSize()).isLessThanOrEqualTo(max).isGreaterThan(max / 2);
    assertThat(bounded.estimatedSize()).isLessThan(200);
  }

  @Test
  void weightCountsBodiesAndHeaders() {
    store(TestRequest.get("/a"), "x");
    cache.cleanUp();
    long small = cache.weightedSize();
    store(TestRequest.get("/b"), "x".repeat(1000), "X-Long", "y".repeat(1000));
    cache.cleanUp();
    assertThat(cache.weightedSize() - small).as("body + header chars").isGreaterThan(3000);
  }

  @Test
  void disabledPolicyStoresAndServesNothing() {
    CachePolicy off = CachePolicy.builder().enabled(false).build();
    assertThat(store(cache, TestRequest.get("/p"), "x", off)).isEqualTo(StoreDecision.DISABLED);
    assertThat(cache.checkRequest(TestRequest.get("/p"), off)).isEqualTo(StoreDecision.DISABLED);
    store(TestRequest.get("/p"), "x");
    assertThat(cache.lookup(TestRequest.get("/p"), off)).isEmpty();
  }

  @Test
  void concurrentStoresOfDifferentVariantsAreAllKept() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<StoreDecision>> results = new ArrayList<>();
      for (int i = 0; i < StaleCache.MAX_VARIANTS; i++) {
        TestRequest r = TestRequest.get("/p").header("X-V", "v" + i);
        results.add(
            pool.submit(
                () -> {
                  start.await();
                  return store(r, "x", "Vary", "X-V");
                }));
      }
      start.countDown();
      for (Future<StoreDecision> f : results) {
        assertThat(f.get(10, TimeUnit.SECONDS)).isEqualTo(StoreDecision.STORED);
      }
    } finally {
      pool.shutdownNow();
    }
    for (int i = 0; i < StaleCache.MAX_VARIANTS; i++) {
      assertThat(cache.lookup(TestRequest.get("/p").header("X-V", "v" + i), policy)).isPresent();
    }
  }

  @Test
  void bindsCaffeinesOwnMeters() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    cache.bindTo(registry, "stale");
    store(TestRequest.get("/p"), "x");
    cache.lookup(TestRequest.get("/none"), policy);
    cache.lookup(TestRequest.get("/p"), policy);
    assertThat(
            registry
                .get("cache.gets")
                .tag("cache", "stale")
                .tag("result", "miss")
                .functionCounter()
                .count())
        .isEqualTo(1);
    assertThat(
            registry
                .get("cache.gets")
                .tag("cache", "stale")
                .tag("result", "hit")
                .functionCounter()
                .count())
        .isEqualTo(1);
  }

  @Test
  void builderRejectsContradictions() {
    assertThatThrownBy(() -> StaleCache.builder().maximumBytes(10).maximumEntryBytes(11).build())
        .hasMessageContaining("maximumEntryBytes (11) cannot exceed maximumBytes (10)");
    assertThatThrownBy(() -> StaleCache.builder().maximumBytes(0))
        .hasMessageContaining("maximumBytes must be positive");
    assertThatThrownBy(() -> StaleCache.builder().maximumEntryBytes(-1))
        .hasMessageContaining("maximumEntryBytes must be positive");
    assertThatThrownBy(() -> StaleCache.builder().ticker(null)).hasMessageContaining("ticker");
    assertThatThrownBy(() -> CachePolicy.builder().maxStale(Duration.ofSeconds(-1)))
        .hasMessageContaining("maxStale cannot be negative");
  }

  @Test
  void responsePreCheckAppliesTheSameRulesAsStore() {
    java.util.Map<String, List<String>> h = new java.util.HashMap<>();
    h.put("cache-control", List.of("no-store"));
    assertThat(cache.checkResponse(200, name -> h.get(name.toLowerCase(java.util.Locale.ROOT))))
        .isEqualTo(StoreDecision.NO_STORE);
    assertThat(cache.checkResponse(404, name -> null)).isEqualTo(StoreDecision.NOT_200);
    assertThat(cache.checkResponse(200, name -> null)).isEqualTo(StoreDecision.STORED);
  }
}
