package dev.gatewarden.filter;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EscapingTest {
  static final String SCRIPT = "<script>alert(1)</script>";
  static final String ATTRIBUTE_BREAKOUT = "\"><img src=x onerror=alert(1)>";
  static final String SINGLE_QUOTE = "x' onmouseover='alert(1)";

  @Test
  void htmlEscapesAScriptTag() {
    assertThat(Escaping.html(SCRIPT)).isEqualTo("&lt;script&gt;alert(1)&lt;/script&gt;");
  }

  @Test
  void htmlEscapesAnAttributeBreakout() {
    assertThat(Escaping.html(ATTRIBUTE_BREAKOUT))
        .isEqualTo("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
  }

  @Test
  void htmlEscapesSingleQuotesAndAmpersands() {
    assertThat(Escaping.html(SINGLE_QUOTE)).isEqualTo("x&#39; onmouseover=&#39;alert(1)");
    assertThat(Escaping.html("a&amp;b")).isEqualTo("a&amp;amp;b");
  }

  @ParameterizedTest
  @ValueSource(strings = {SCRIPT, ATTRIBUTE_BREAKOUT, SINGLE_QUOTE})
  void htmlOutputHasNoCharacterThatCanEndTextOrAQuotedAttribute(String payload) {
    assertThat(Escaping.html(payload)).doesNotContain("<", ">", "\"", "'");
  }

  @Test
  void htmlReplacesControlCharactersAndLoneSurrogatesButKeepsWhitespaceAndEmoji() {
    assertThat(Escaping.html("a\u0000b\u001bc\u007fd\u0085e\tf\ng\rh"))
        .isEqualTo("a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\tf\ng\rh");
    assertThat(Escaping.html("x\uD800y\uDC00z")).isEqualTo("x\uFFFDy\uFFFDz");
    assertThat(Escaping.html("caf\u00e9 \uD83D\uDE00")).isEqualTo("caf\u00e9 \uD83D\uDE00");
  }

  @Test
  void safeTextIsReturnedAsIs() {
    String safe = "/products/42?page=2";
    assertThat(Escaping.html(safe)).isSameAs(safe);
    assertThat(Escaping.json(safe)).isSameAs(safe);
    assertThat(Escaping.text(safe)).isSameAs(safe);
  }

  @Test
  void jsonEscapesQuotesBackslashesAndLineBreaksBriefly() {
    assertThat(Escaping.json("a\"b\\c\nd\re\tf\bg\fh"))
        .isEqualTo("a\\\"b\\\\c\\nd\\re\\tf\\bg\\fh");
  }

  @Test
  void jsonEscapesMarkupCharactersSoItStaysInertInsideHtml() {
    assertThat(Escaping.json(SCRIPT))
        .isEqualTo("\\u003cscript\\u003ealert(1)\\u003c/script\\u003e");
    assertThat(Escaping.json(ATTRIBUTE_BREAKOUT))
        .isEqualTo("\\\"\\u003e\\u003cimg src=x onerror=alert(1)\\u003e");
    assertThat(Escaping.json("a&b'c")).isEqualTo("a\\u0026b\\u0027c");
  }

  @Test
  void jsonEscapesLineAndParagraphSeparators() {
    assertThat(Escaping.json("a\u2028b\u2029c")).isEqualTo("a\\u2028b\\u2029c");
  }

  @Test
  void jsonEscapesEveryControlCharacter() {
    for (char c = 0; c < 0x20; c++) {
      String escaped = Escaping.json("<" + c + ">");
      assertThat(escaped).startsWith("\\u003c\\").endsWith("\\u003e").hasSizeBetween(14, 18);
    }
    assertThat(Escaping.json("\u0000\u001f\u007f\u009f")).isEqualTo("\\u0000\\u001f\\u007f\\u009f");
  }

  @Test
  void jsonRoundTripsEveryCharacterThroughAStrictParser() {
    StringBuilder all = new StringBuilder();
    for (int c = 0; c < 0x10000; c++) {
      if (!Character.isSurrogate((char) c)) {
        all.append((char) c);
      }
    }
    all.append("\uD83D\uDE00"); // a surrogate pair stays a pair
    String original = all.toString();

    String literal = "\"" + Escaping.json(original) + "\"";

    assertThat(ErrorPagesTest.Json.parse(literal)).isEqualTo(original);
  }

  @Test
  void jsonEscapesLoneSurrogatesSoTheOutputStillEncodes() {
    assertThat(Escaping.json("a\uD800b\uDFFFc")).isEqualTo("a\\ud800b\\udfffc");
    assertThat(Escaping.json("\uD83D\uDE00")).isEqualTo("\uD83D\uDE00");
  }

  @Test
  void textReplacesControlCharactersSoAValueCannotForgeLinesOrDriveATerminal() {
    assertThat(Escaping.text("a\r\nFake: header\u001b[31mred\u009b2J\u0000"))
        .isEqualTo("a\uFFFD\uFFFDFake: header\uFFFD[31mred\uFFFD2J\uFFFD");
  }

  @Test
  void textKeepsMarkupAndNonAsciiBecausePlainTextIsNeverInterpreted() {
    assertThat(Escaping.text(SCRIPT + " caf\u00e9")).isEqualTo(SCRIPT + " caf\u00e9");
    assertThat(Escaping.text("x\uDC00")).isEqualTo("x\uFFFD");
  }
}
