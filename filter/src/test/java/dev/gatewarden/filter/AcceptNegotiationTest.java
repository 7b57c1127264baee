package dev.gatewarden.filter;

import static dev.gatewarden.filter.AcceptNegotiation.Representation.HTML;
import static dev.gatewarden.filter.AcceptNegotiation.Representation.PROBLEM_JSON;
import static dev.gatewarden.filter.AcceptNegotiation.Representation.TEXT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gatewarden.filter.AcceptNegotiation.Representation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class AcceptNegotiationTest {

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        // Firefox, Safari
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        // Chrome, Edge
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
            + "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
        // older Firefox
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8",
      })
  void browsersGetHtml(String accept) {
    assertThat(AcceptNegotiation.choose(accept)).isEqualTo(HTML);
  }

  @ParameterizedTest(name = "\"{0}\"")
  @NullAndEmptySource
  @ValueSource(strings = {"   ", "*/*", "*/*;q=0.8", "text/*", "garbage", ",,,", ";;;"})
  void absentEmptyWildcardOrUnparseableAcceptGetsPlainText(String accept) {
    assertThat(AcceptNegotiation.choose(accept)).isEqualTo(TEXT);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          application/json                                       | PROBLEM_JSON
          application/problem+json                               | PROBLEM_JSON
          application/*+json                                     | PROBLEM_JSON
          application/vnd.api+json                               | PROBLEM_JSON
          application/*                                          | PROBLEM_JSON
          APPLICATION/JSON                                       | PROBLEM_JSON
          application/json; charset=utf-8                        | PROBLEM_JSON
          application/json, text/plain, */*                      | PROBLEM_JSON
          text/plain                                             | TEXT
          text/html                                              | HTML
          Text/HTML;level=1                                      | HTML
          application/xml                                        | TEXT
          image/png                                              | TEXT
          """)
  void namedTypesGetTheirRepresentation(String accept, Representation expected) {
    assertThat(AcceptNegotiation.choose(accept)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          text/html;q=0.5, application/json;q=0.9                | PROBLEM_JSON
          application/json;q=0.5, text/html                      | HTML
          text/plain;q=0.2, text/html;q=0.1                      | TEXT
          application/json;q=0.3, */*;q=0.9                      | TEXT
          text/html;q=0.001, text/plain;q=0                      | HTML
          text/html;q=1.000, application/json;q=0.999            | HTML
          text/html;q=.5, application/json;q=0.4                 | HTML
          """)
  void highestQualityWins(String accept, Representation expected) {
    assertThat(AcceptNegotiation.choose(accept)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          */*, application/json                                  | PROBLEM_JSON
          text/*, text/html                                      | HTML
          application/*, text/plain                              | TEXT
          application/json, text/html                            | PROBLEM_JSON
          text/html, application/json                            | HTML
          text/plain, text/html                                  | TEXT
          application/*, text/*                                  | PROBLEM_JSON
          """)
  void onATieAnExplicitMatchBeatsAWildcardThenTheFirstListedWins(
      String accept, Representation expected) {
    assertThat(AcceptNegotiation.choose(accept)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          text/html;q=0                                          | TEXT
          text/html;q=0, application/json;q=0, text/plain;q=0    | TEXT
          text/html;q=0, */*                                     | TEXT
          */*, text/plain;q=0                                    | HTML
          text/*;q=0.9, text/html;q=0, application/json;q=0.1    | TEXT
          application/json;q=0, */*;q=0.5, text/html;q=0.4       | TEXT
          """)
  void qZeroMeansNotAcceptableAndTheMostSpecificRangeDecides(
      String accept, Representation expected) {
    assertThat(AcceptNegotiation.choose(accept)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      textBlock =
          """
          ;;;q=abc,,text/html;q=2                                | HTML
          text/html;q=abc, application/json                      | PROBLEM_JSON
          text/html;q=1e5, application/json;q=0.1                | PROBLEM_JSON
          text/html;q=NaN, application/json;q=0.1                | PROBLEM_JSON
          text/html;q=0x1p0, application/json;q=0.1              | PROBLEM_JSON
          text/html;q=, application/json;q=0.1                   | PROBLEM_JSON
          text/html;q=-1, application/json;q=0.1                 | PROBLEM_JSON
          text/html;q=7, application/json                        | HTML
          */html, application/json;q=0.1                         | PROBLEM_JSON
          text/, /html, text, application/json;q=0.1             | PROBLEM_JSON
          text/h tml, application/json;q=0.1                     | PROBLEM_JSON
          text/html;foo="a,b;q=0", application/json;q=0.5        | HTML
          text/html ; q=0.9 ; foo=bar , application/json;q=0.8  | HTML
          text/html;;q=0.9,application/json;q=0.8               | HTML
          """)
  void malformedPartsAreIgnoredAndQIsClamped(String accept, Representation expected) {
    assertThat(AcceptNegotiation.choose(accept)).isEqualTo(expected);
  }

  @Test
  void controlCharactersAndNonAsciiGarbageGivePlainText() {
    assertThat(AcceptNegotiation.choose("\u0000\u00ff/\u2028;q=\uD800")).isEqualTo(TEXT);
  }

  @Test
  void aVeryLongHeaderIsParsedInOnePass() {
    String accept = "image/png;q=0.1,".repeat(20_000) + "application/json";
    assertThat(AcceptNegotiation.choose(accept)).isEqualTo(PROBLEM_JSON);
  }
}
