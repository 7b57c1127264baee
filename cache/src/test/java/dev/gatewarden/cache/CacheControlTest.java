package dev.gatewarden.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CacheControlTest {
  private static CacheControl parse(String... lines) {
    return CacheControl.parse(Arrays.asList(lines));
  }

  @Test
  void parsesDirectivesCaseInsensitivelyAcrossHeaderLines() {
    CacheControl cc = parse("Max-Age=60, Stale-If-Error=\"300\"", "MUST-REVALIDATE");
    assertThat(cc.maxAge).isEqualTo(60);
    assertThat(cc.staleIfErrorSeconds()).isEqualTo(300);
    assertThat(cc.mustRevalidate).isTrue();
    assertThat(cc.forbidsStale()).isTrue();
  }

  @Test
  void toleratesWhitespaceAroundNamesValuesAndCommas() {
    CacheControl cc = parse("  max-age =\t30 ,\tstale-if-error= \"40\" ,private  ");
    assertThat(cc.freshnessSeconds()).isEqualTo(30);
    assertThat(cc.staleIfErrorSeconds()).isEqualTo(40);
    assertThat(cc.isPrivate).isTrue();
  }

  @Test
  void firstOccurrenceOfARepeatedDirectiveCounts() {
    CacheControl cc = parse("max-age=10, stale-if-error=5", "max-age=20, stale-if-error=500");
    assertThat(cc.freshnessSeconds()).isEqualTo(10);
    assertThat(cc.staleIfErrorSeconds()).isEqualTo(5);
  }

  @Test
  void malformedMaxAgeMakesTheResponseStaleFromTheStart() {
    CacheControl cc = parse("max-age=abc, max-age=10");
    assertThat(cc.maxAge).isEqualTo(CacheControl.MALFORMED);
    assertThat(cc.freshnessSeconds()).isZero();
    assertThat(cc.forbidsStale()).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {"abc", "-5", "1.5", "", "0x10", "\"60\"x", "+3"})
  void malformedStaleIfErrorCountsAsAbsent(String value) {
    assertThat(parse("stale-if-error=" + value).staleIfErrorSeconds())
        .isEqualTo(CacheControl.ABSENT);
  }

  @Test
  void directiveWithoutArgumentIsMalformedNotZero() {
    assertThat(parse("max-age").maxAge).isEqualTo(CacheControl.MALFORMED);
    assertThat(parse("stale-if-error").staleIfErrorSeconds()).isEqualTo(CacheControl.ABSENT);
  }

  @Test
  void malformedSMaxAgeStillForbidsStaleWithNoFreshness() {
    CacheControl cc = parse("s-maxage=soon, max-age=60");
    assertThat(cc.forbidsStale()).isTrue();
    assertThat(cc.freshnessSeconds()).isZero();
  }

  @ParameterizedTest
  @ValueSource(strings = {"2147483648", "9999999999999999999", "99999999999999999999999"})
  void hugeValuesAreCappedWithoutOverflow(String value) {
    assertThat(parse("max-age=" + value).freshnessSeconds()).isEqualTo(Integer.MAX_VALUE);
  }

  @Test
  void sMaxAgeImpliesProxyRevalidateAndWinsFreshness() {
    CacheControl cc = parse("max-age=10, s-maxage=30");
    assertThat(cc.freshnessSeconds()).isEqualTo(30);
    assertThat(cc.forbidsStale()).isTrue();
  }

  @Test
  void quotedValuesMayContainCommasAndEscapes() {
    CacheControl cc = parse("no-cache=\"Set-Cookie, X-\\\"Foo\", private");
    assertThat(cc.noCache).isTrue();
    assertThat(cc.isPrivate).isTrue();
    assertThat(cc.noStore).isFalse();
  }

  @Test
  void unknownDirectivesAreSkipped() {
    CacheControl cc = parse("public, immutable, ext=\"no-store\", max-age=5");
    assertThat(cc.noStore).isFalse();
    assertThat(cc.freshnessSeconds()).isEqualTo(5);
  }

  @Test
  void emptyAndGarbageHeadersAreHarmless() {
    CacheControl cc = parse("", ",,,", "=", "\"unterminated", "max-age=\"12", null);
    assertThat(cc.freshnessSeconds()).isZero();
    assertThat(cc.forbidsStale()).isFalse();
    assertThat(CacheControl.parse(null).freshnessSeconds()).isZero();
    assertThat(CacheControl.parse(List.of()).noCache).isFalse();
  }
}
