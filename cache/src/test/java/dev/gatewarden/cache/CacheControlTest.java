package dev.gatewarden.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class CacheControlTest {
  @Test
  void parsesDirectivesCaseInsensitivelyAcrossHeaders() {
    CacheControl cc =
        CacheControl.parse(List.of("Max-Age=60, Stale-If-Error=\"300\"", "MUST-REVALIDATE"));
    assertThat(cc.maxAge).isEqualTo(60);
    assertThat(cc.staleIfError).isEqualTo(300);
    assertThat(cc.mustRevalidate).isTrue();
    assertThat(cc.forbidsStale()).isTrue();
  }

  @Test
  void firstValidValueWinsAndMalformedNumbersAreAbsent() {
    CacheControl cc =
        CacheControl.parse(List.of("max-age=abc, max-age=10, max-age=20, stale-if-error=-5"));
    assertThat(cc.maxAge).isEqualTo(10);
    assertThat(cc.staleIfError).isEqualTo(CacheControl.ABSENT);
  }

  @Test
  void hugeValuesAreCapped() {
    CacheControl cc = CacheControl.parse(List.of("max-age=99999999999999999999999"));
    assertThat(cc.maxAge).isEqualTo(Integer.MAX_VALUE);
  }

  @Test
  void sMaxAgeImpliesProxyRevalidateAndWinsFreshness() {
    CacheControl cc = CacheControl.parse(List.of("max-age=10, s-maxage=30"));
    assertThat(cc.freshnessSeconds()).isEqualTo(30);
    assertThat(cc.forbidsStale()).isTrue();
  }

  @Test
  void quotedValuesMayContainCommas() {
    CacheControl cc = CacheControl.parse(List.of("no-cache=\"Set-Cookie, X-Foo\", private"));
    assertThat(cc.noCache).isTrue();
    assertThat(cc.isPrivate).isTrue();
  }

  @Test
  void emptyAndGarbageHeadersAreHarmless() {
    CacheControl cc = CacheControl.parse(List.of("", ",,,", "=", "\"unterminated"));
    assertThat(cc.freshnessSeconds()).isZero();
    assertThat(cc.forbidsStale()).isFalse();
  }
}
