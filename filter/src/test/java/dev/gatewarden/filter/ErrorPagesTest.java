package dev.gatewarden.filter;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gatewarden.resilience.ConfigException;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.ByteArrayOutputStream;
import java.lang.reflect.Proxy;
import java.math.BigDecimal;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ErrorPagesTest {
  private static final ClassLoader LOADER = ErrorPagesTest.class.getClassLoader();
  private static final String BROWSER =
      "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
  private static final String ID = "4f1c2a9e0b7d4e1f8a6c3b5d2e9f7a10";

  private final ErrorPages pages = ErrorPages.load(null, null, null, true, LOADER);

  @TempDir Path dir;

  // ---- negotiation and wording ------------------------------------------------------------

  @Test
  void browsersGetAnHtmlPageWithTheFriendlyWordingPathAndReference() {
    ErrorPages.Rendered page = pages.render(BROWSER, 503, ID, "/products/42", 30);

    assertThat(page.contentType()).isEqualTo("text/html;charset=UTF-8");
    assertThat(page.text())
        .startsWith("<!DOCTYPE html>")
        .contains("<title>This page is temporarily unavailable</title>")
        .contains("<h1>This page is temporarily unavailable</h1>")
        .contains(
            "We are handling more requests than we can right now, or a service this page needs is"
                + " down. Please try again in 30 seconds.")
        .contains("The page <code>/products/42</code> could not be loaded.")
        .contains("Reference: <code>" + ID + "</code>")
        .contains("Error 503")
        .doesNotContain("{{", "}}", "<script", "src=", "http://", "https://");
  }

  @Test
  void apiClientsGetProblemJson() {
    ErrorPages.Rendered page = pages.render("application/json", 504, ID, "/api/orders", 0);

    assertThat(page.contentType()).isEqualTo("application/problem+json");
    assertThat(Json.parse(page.text()))
        .isEqualTo(
            Map.of(
                "type",
                "about:blank",
                "title",
                "Gateway Timeout",
                "status",
                new BigDecimal(504),
                "detail",
                "A service this page needs did not answer in time. Please try again in a"
                    + " moment.",
                "instance",
                "/api/orders",
                "requestId",
                ID));
  }

  @Test
  void curlGetsPlainText() {
    ErrorPages.Rendered page = pages.render("*/*", 502, ID, "/x", 0);

    assertThat(page.contentType()).isEqualTo("text/plain;charset=UTF-8");
    assertThat(page.text())
        .isEqualTo(
            "Something went wrong on our side (error 502)\n"
                + "\n"
                + "A service this page needs sent us an answer we could not use. Please try again"
                + " in a moment.\n"
                + "\n"
                + "Page: /x\n"
                + "Reference: "
                + ID
                + "\n");
  }

  @Test
  void eachStatusHasItsOwnFriendlyTitle() {
    assertThat(ErrorPages.title(500)).isEqualTo("Something went wrong");
    assertThat(ErrorPages.title(502)).isEqualTo("Something went wrong on our side");
    assertThat(ErrorPages.title(503)).isEqualTo("This page is temporarily unavailable");
    assertThat(ErrorPages.title(504)).isEqualTo("This page took too long");
    assertThat(ErrorPages.title(507)).isEqualTo("Something went wrong");
    assertThat(ErrorPages.title(404)).isEqualTo("This page could not be found");
    assertThat(ErrorPages.title(418)).isEqualTo("This request could not be completed");
  }

  @ParameterizedTest
  @ValueSource(ints = {400, 404, 418, 429, 500, 501, 502, 503, 504, 599})
  void anyClientOrServerErrorStatusRendersInEveryFormat(int status) {
    for (String accept : List.of(BROWSER, "application/json", "*/*")) {
      ErrorPages.Rendered page = pages.render(accept, status, ID, "/x", 5);
      assertThat(page.text()).contains(Integer.toString(status)).contains(ID);
    }
    assertThat(Json.parse(pages.render("application/json", status, ID, "/x", 0).text()))
        .isInstanceOf(Map.class);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 200, 302, 399, 600})
  void aStatusThatIsNotAnErrorIsRefused(int status) {
    assertThatThrownBy(() -> pages.render("*/*", status, ID, "/x", 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(Integer.toString(status));
  }

  @Test
  void retryDelaysReadNaturally() {
    assertThat(ErrorPages.duration(1)).isEqualTo("1 second");
    assertThat(ErrorPages.duration(30)).isEqualTo("30 seconds");
    assertThat(ErrorPages.duration(60)).isEqualTo("1 minute");
    assertThat(ErrorPages.duration(90)).isEqualTo("90 seconds");
    assertThat(ErrorPages.duration(120)).isEqualTo("2 minutes");
    assertThat(ErrorPages.duration(3600)).isEqualTo("1 hour");
  }

  @Test
  void aVeryLongPathIsShortened() {
    String path = "/" + "a".repeat(10_000);

    String text = pages.render("text/plain", 500, ID, path, 0).text();

    assertThat(text)
        .contains("/" + "a".repeat(ErrorPages.MAX_PATH_CHARS - 1) + "\u2026")
        .doesNotContain("a".repeat(ErrorPages.MAX_PATH_CHARS));
  }

  @Test
  void missingPathAndRequestIdLeaveOutTheirLines() {
    assertThat(pages.render("*/*", 500, null, null, 0).text())
        .doesNotContain("Reference")
        .doesNotContain("Page:");
    assertThat(pages.render(BROWSER, 500, "", "", 0).text())
        .doesNotContain("Reference")
        .doesNotContain("could not be loaded");
  }

  // ---- escaping ---------------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(strings = {EscapingTest.SCRIPT, EscapingTest.ATTRIBUTE_BREAKOUT, "'", "a'b"})
  void htmlEscapesThePathAndRequestId(String payload) {
    String html = pages.render(BROWSER, 503, payload, "/" + payload, 30).text();

    assertThat(html).contains(Escaping.html(payload));
    if (!payload.equals(Escaping.html(payload))) {
      assertThat(html).doesNotContain(payload);
    }
    assertThat(html).doesNotContain("<script>", "<img", "'");
  }

  @ParameterizedTest
  @ValueSource(strings = {EscapingTest.SCRIPT, EscapingTest.ATTRIBUTE_BREAKOUT, "'", "a'b"})
  void problemJsonEscapesThePathAndRequestIdAndStaysValid(String payload) {
    String json = pages.render("application/json", 503, payload, "/" + payload, 30).text();

    assertThat(json)
        .contains("\"instance\": \"/" + Escaping.json(payload) + "\"")
        .contains("\"requestId\": \"" + Escaping.json(payload) + "\"")
        .doesNotContain(payload)
        .doesNotContain("<", ">", "'");
    Map<?, ?> problem = (Map<?, ?>) Json.parse(json);
    assertThat(problem.get("instance")).isEqualTo("/" + payload);
    assertThat(problem.get("requestId")).isEqualTo(payload);
  }

  @Test
  void problemJsonRoundTripsControlCharactersQuotesAndBackslashes() {
    String path = "/a\"b\\c\u0000d\u001fe\nf\u2028g\uD83D\uDE00";

    String json = pages.render("application/problem+json", 500, ID, path, 0).text();

    assertThat(json).doesNotContain("\u0000", "\u001f", "\u2028");
    assertThat(((Map<?, ?>) Json.parse(json)).get("instance")).isEqualTo(path);
  }

  @ParameterizedTest
  @ValueSource(strings = {EscapingTest.SCRIPT, EscapingTest.ATTRIBUTE_BREAKOUT, "'"})
  void plainTextShowsMarkupAsInertText(String payload) {
    ErrorPages.Rendered page = pages.render("text/plain", 503, payload, "/" + payload, 30);

    // text/plain with nosniff is never interpreted, so markup needs no escaping there
    assertThat(page.contentType()).isEqualTo("text/plain;charset=UTF-8");
    assertThat(page.text()).contains("Page: /" + payload).contains("Reference: " + payload);
  }

  @Test
  void plainTextCannotBeGivenExtraLinesOrTerminalEscapes() {
    String text =
        pages.render("text/plain", 503, ID, "/x\r\nReference: forged\u001b[2J", 30).text();

    assertThat(text)
        .doesNotContain("\r", "\u001b")
        .contains("Page: /x\uFFFD\uFFFDReference: forged\uFFFD[2J\n");
    assertThat(text.lines().filter(l -> l.startsWith("Reference:"))).hasSize(1);
  }

  // ---- retrying ---------------------------------------------------------------------------

  @Test
  void htmlRefreshesItselfAfterRetryAfterWhenAutoRetryIsOn() {
    String html = pages.render(BROWSER, 503, ID, "/x", 30).text();

    assertThat(html)
        .contains("<meta http-equiv=\"refresh\" content=\"30\">")
        .contains("this page will try again by itself in 30 seconds");
  }

  @Test
  void htmlDoesNotRefreshWithoutRetryAfter() {
    String html = pages.render(BROWSER, 500, ID, "/x", 0).text();

    assertThat(html)
        .doesNotContain("http-equiv")
        .doesNotContain("by itself")
        .contains("Please try again in a moment.");
  }

  @Test
  void htmlDoesNotRefreshWhenAutoRetryIsOff() {
    ErrorPages manual = ErrorPages.load(null, null, null, false, LOADER);

    String html = manual.render(BROWSER, 503, ID, "/x", 30).text();

    assertThat(html)
        .doesNotContain("http-equiv")
        .doesNotContain("by itself")
        .contains("Please try again in 30 seconds.");
  }

  @Test
  void htmlDoesNotRefreshAfterAPostBecauseARefreshWouldNotRepeatIt() {
    String html = pages.render(BROWSER, 503, ID, "/checkout", 30, false).text();

    assertThat(html).doesNotContain("http-equiv").doesNotContain("by itself");
  }

  @Test
  void problemJsonHasRetryAfterOnlyWhenThereIsOne() {
    Map<?, ?> with =
        (Map<?, ?>) Json.parse(pages.render("application/json", 503, ID, "/x", 30).text());
    Map<?, ?> without =
        (Map<?, ?>) Json.parse(pages.render("application/json", 503, ID, "/x", 0).text());

    assertThat(with.get("retryAfter")).isEqualTo(new BigDecimal(30));
    assertThat(without.containsKey("retryAfter")).isFalse();
  }

  // ---- writing ----------------------------------------------------------------------------

  @Test
  void writeSetsStatusHeadersAndBody() throws Exception {
    FakeResponse response = new FakeResponse();

    pages.write(request("GET", "/products/42", BROWSER), response.proxy(), 503, ID, 30);

    byte[] expected = pages.render(BROWSER, 503, ID, "/products/42", 30).body();
    assertThat(response.status).isEqualTo(503);
    assertThat(response.headers)
        .containsEntry("Content-Type", List.of("text/html;charset=UTF-8"))
        .containsEntry("Content-Length", List.of(Integer.toString(expected.length)))
        .containsEntry("Cache-Control", List.of("no-store"))
        .containsEntry("Vary", List.of("Accept"))
        .containsEntry("X-Content-Type-Options", List.of("nosniff"))
        .containsEntry("Retry-After", List.of("30"))
        .containsEntry(
            "Content-Security-Policy",
            List.of(
                "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none';"
                    + " form-action 'none'; frame-ancestors 'none'"));
    assertThat(response.body.toByteArray()).isEqualTo(expected);
  }

  @Test
  void writeSendsNoRetryAfterWhenThereIsNone() throws Exception {
    FakeResponse response = new FakeResponse();

    pages.write(request("GET", "/x", "application/json"), response.proxy(), 500, ID, 0);

    assertThat(response.status).isEqualTo(500);
    assertThat(response.headers)
        .doesNotContainKey("Retry-After")
        .doesNotContainKey("Content-Security-Policy")
        .containsEntry("Content-Type", List.of("application/problem+json"));
    assertThat(Json.parse(response.body.toString(UTF_8))).isInstanceOf(Map.class);
  }

  @Test
  void headGetsTheSameHeadersAndNoBody() throws Exception {
    FakeResponse get = new FakeResponse();
    FakeResponse head = new FakeResponse();

    pages.write(request("GET", "/x", BROWSER), get.proxy(), 503, ID, 30);
    pages.write(request("HEAD", "/x", BROWSER), head.proxy(), 503, ID, 30);

    assertThat(head.status).isEqualTo(503);
    assertThat(head.headers).isEqualTo(get.headers);
    assertThat(head.headers.get("Content-Length"))
        .containsExactly(Integer.toString(get.body.size()));
    assertThat(head.outputStreamUsed).isFalse();
  }

  @Test
  void writeAfterAPostDoesNotAddARefresh() throws Exception {
    FakeResponse response = new FakeResponse();

    pages.write(request("POST", "/checkout", BROWSER), response.proxy(), 503, ID, 30);

    assertThat(response.headers).containsEntry("Retry-After", List.of("30"));
    assertThat(response.body.toString(UTF_8)).doesNotContain("http-equiv");
  }

  @Test
  void writeConsidersEveryAcceptHeader() throws Exception {
    FakeResponse response = new FakeResponse();

    pages.write(
        request("GET", "/x", "image/png;q=0.9", "application/json"), response.proxy(), 502, ID, 0);

    assertThat(response.headers.get("Content-Type")).containsExactly("application/problem+json");
  }

  @Test
  void writeWithoutAcceptSendsPlainText() throws Exception {
    FakeResponse response = new FakeResponse();

    pages.write(request("GET", "/x"), response.proxy(), 500, ID, 0);

    assertThat(response.headers.get("Content-Type")).containsExactly("text/plain;charset=UTF-8");
    assertThat(response.body.toString(UTF_8)).startsWith("Something went wrong (error 500)");
  }

  // ---- templates --------------------------------------------------------------------------

  @Test
  void aCustomTemplateIsLoadedFromAFilePath() throws Exception {
    Path html =
        Files.writeString(dir.resolve("page.html"), "<p>{{title}} ({{status}}) {{path}}</p>");

    ErrorPages custom = ErrorPages.load(html.toString(), null, null, true, LOADER);

    assertThat(custom.render(BROWSER, 504, ID, "/a<b", 0).text())
        .isEqualTo("<p>This page took too long (504) /a&lt;b</p>");
  }

  @Test
  void aCustomTemplateIsLoadedFromAFileUri() throws Exception {
    Path text = Files.writeString(dir.resolve("page with space.txt"), "{{statusText}}: {{detail}}");

    ErrorPages custom = ErrorPages.load(null, null, text.toUri().toString(), true, LOADER);

    assertThat(custom.render("text/plain", 503, ID, "/x", 60).text())
        .startsWith("Service Unavailable: We are handling")
        .endsWith("Please try again in 1 minute.");
  }

  @Test
  void aCustomTemplateIsLoadedFromTheGivenClassLoader() throws Exception {
    Files.createDirectories(dir.resolve("pages"));
    Files.writeString(
        dir.resolve("pages/problem.json"),
        "{\"status\":{{status}},\"id\":\"{{requestId}}\""
            + "{{#retryAfter}},\"retry\":{{retryAfter}}{{/retryAfter}}}");
    try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()}, null)) {
      ErrorPages custom =
          ErrorPages.load(null, "classpath:/pages/problem.json", null, true, loader);

      assertThat(custom.render("application/json", 503, "a\"b", "/x", 9).text())
          .isEqualTo("{\"status\":503,\"id\":\"a\\\"b\",\"retry\":9}");
      assertThat(custom.render("application/json", 500, "a", "/x", 0).text())
          .isEqualTo("{\"status\":500,\"id\":\"a\"}");
    }
  }

  @Test
  void sectionsShowTheirContentOnlyWhenTheValueIsThere() throws Exception {
    Path html =
        Files.writeString(
            dir.resolve("sections.html"),
            "{{#autoRetry}}auto {{retryAfterText}}{{/autoRetry}}"
                + "{{^autoRetry}}manual{{/autoRetry}}"
                + "{{#requestId}}[{{requestId}}{{#retryAfter}} in {{retryAfter}}{{/retryAfter}}]"
                + "{{/requestId}}{{{refreshMeta}}}");
    ErrorPages custom = ErrorPages.load(html.toString(), null, null, true, LOADER);

    assertThat(custom.render(BROWSER, 503, "id", "/", 2).text())
        .isEqualTo("auto 2 seconds[id in 2]{<meta http-equiv=\"refresh\" content=\"2\">}");
    assertThat(custom.render(BROWSER, 503, "", "/", 0).text()).isEqualTo("manual{}");
  }

  @Test
  void aTemplateWithAnUnknownPlaceholderFailsAtLoadTime() throws Exception {
    Path html =
        Files.writeString(dir.resolve("typo.html"), "<h1>{{title}}</h1>\n<p>{{detial}}</p>");

    assertThatThrownBy(() -> ErrorPages.load(html.toString(), null, null, true, LOADER))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("error-page.html-template")
        .hasMessageContaining(html.toString())
        .hasMessageContaining("{{detial}} on line 2 is unknown")
        .hasMessageContaining("{{detail}}")
        .satisfies(
            e -> assertThat(((ConfigException) e).key()).isEqualTo("error-page.html-template"));
  }

  @Test
  void htmlOnlyPlaceholdersAreUnknownInOtherTemplates() throws Exception {
    Path json = Files.writeString(dir.resolve("p.json"), "{\"x\":\"{{refreshMeta}}\"}");
    Path text = Files.writeString(dir.resolve("p.txt"), "{{#autoRetry}}soon{{/autoRetry}}");

    assertThatThrownBy(() -> ErrorPages.load(null, json.toString(), null, true, LOADER))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("error-page.json-template")
        .hasMessageContaining("{{refreshMeta}}");
    assertThatThrownBy(() -> ErrorPages.load(null, null, text.toString(), true, LOADER))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("error-page.text-template")
        .hasMessageContaining("{{#autoRetry}}");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{{#retryAfter}}open",
        "close{{/retryAfter}}",
        "{{#requestId}}{{#retryAfter}}{{/requestId}}{{/retryAfter}}",
        "{{title}",
        "{{}}",
        "{{#}}",
      })
  void aMalformedTemplateFailsAtLoadTime(String source) throws Exception {
    Path text = Files.writeString(dir.resolve("bad.txt"), source);

    assertThatThrownBy(() -> ErrorPages.load(null, null, text.toString(), true, LOADER))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("error-page.text-template");
  }

  @Test
  void aMissingTemplateFileFailsNamingKeyAndValue() {
    String missing = dir.resolve("nope.html").toString();

    assertThatThrownBy(() -> ErrorPages.load(missing, null, null, true, LOADER))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("error-page.html-template")
        .hasMessageContaining("\"" + missing + "\"")
        .hasMessageContaining("there is no file");
  }

  @Test
  void aMissingClasspathTemplateFailsNamingKeyAndValue() {
    assertThatThrownBy(() -> ErrorPages.load(null, "classpath:/no/such.json", null, true, LOADER))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("error-page.json-template")
        .hasMessageContaining("\"classpath:/no/such.json\"")
        .hasMessageContaining("no such resource");
  }

  @Test
  void anEmptyADirectoryOrANonUtf8TemplateFails() throws Exception {
    Path empty = Files.writeString(dir.resolve("empty.txt"), " \n");
    Path latin1 = Files.write(dir.resolve("latin1.txt"), new byte[] {'c', 'a', 'f', (byte) 0xe9});

    assertThatThrownBy(() -> ErrorPages.load(null, null, empty.toString(), true, LOADER))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("not empty");
    assertThatThrownBy(() -> ErrorPages.load(null, null, dir.toString(), true, LOADER))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("directory");
    assertThatThrownBy(() -> ErrorPages.load(null, null, latin1.toString(), true, LOADER))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("UTF-8");
    assertThatThrownBy(() -> ErrorPages.load(null, null, "  ", true, LOADER))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("error-page.text-template");
  }

  @Test
  void anOversizedTemplateFails() throws Exception {
    Path big =
        Files.writeString(dir.resolve("big.html"), "x".repeat(ErrorPages.MAX_TEMPLATE_BYTES + 1));

    assertThatThrownBy(() -> ErrorPages.load(big.toString(), null, null, true, LOADER))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("at most 256KiB");
  }

  @Test
  void aByteOrderMarkIsDropped() throws Exception {
    Path text = Files.writeString(dir.resolve("bom.txt"), "\uFEFF{{status}}");

    ErrorPages custom = ErrorPages.load(null, null, text.toString(), true, LOADER);

    assertThat(custom.render("*/*", 500, ID, "/", 0).text()).isEqualTo("500");
  }

  // ---- fakes ------------------------------------------------------------------------------

  private static HttpServletRequest request(String method, String uri, String... accept) {
    return (HttpServletRequest)
        Proxy.newProxyInstance(
            LOADER,
            new Class<?>[] {HttpServletRequest.class},
            (proxy, m, args) -> {
              switch (m.getName()) {
                case "getMethod":
                  return method;
                case "getRequestURI":
                  return uri;
                case "getHeader":
                  return "Accept".equalsIgnoreCase((String) args[0]) && accept.length > 0
                      ? accept[0]
                      : null;
                case "getHeaders":
                  return Collections.enumeration(
                      "Accept".equalsIgnoreCase((String) args[0]) ? List.of(accept) : List.of());
                default:
                  throw new UnsupportedOperationException(m.getName());
              }
            });
  }

  /** Records what is done to a response; fails on anything an error page must not do. */
  private static final class FakeResponse {
    int status;
    final Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    final ByteArrayOutputStream body = new ByteArrayOutputStream();
    boolean outputStreamUsed;

    HttpServletResponse proxy() {
      return (HttpServletResponse)
          Proxy.newProxyInstance(
              LOADER,
              new Class<?>[] {HttpServletResponse.class},
              (proxy, m, args) -> {
                switch (m.getName()) {
                  case "setStatus":
                    status = (Integer) args[0];
                    return null;
                  case "setContentType":
                    headers.put("Content-Type", List.of((String) args[0]));
                    return null;
                  case "setContentLength":
                    headers.put("Content-Length", List.of(args[0].toString()));
                    return null;
                  case "setHeader":
                    headers.put((String) args[0], List.of((String) args[1]));
                    return null;
                  case "addHeader":
                    headers
                        .computeIfAbsent((String) args[0], k -> new ArrayList<>())
                        .add((String) args[1]);
                    return null;
                  case "isCommitted":
                    return false;
                  case "getOutputStream":
                    outputStreamUsed = true;
                    return new ServletOutputStream() {
                      @Override
                      public void write(int b) {
                        body.write(b);
                      }

                      @Override
                      public boolean isReady() {
                        return true;
                      }

                      @Override
                      public void setWriteListener(WriteListener listener) {
                        throw new UnsupportedOperationException();
                      }
                    };
                  default:
                    // sendError, getWriter, reset, ...: an error page must not call them
                    throw new UnsupportedOperationException(m.getName());
                }
              });
    }
  }

  /** A strict JSON parser (RFC 8259), enough to prove the problem bodies are valid JSON. */
  static final class Json {
    private final String s;
    private int pos;

    private Json(String s) {
      this.s = s;
    }

    /** Objects become maps, arrays lists, numbers BigDecimal. Throws on anything invalid. */
    static Object parse(String text) {
      Json p = new Json(text);
      Object value = p.value();
      p.whitespace();
      if (p.pos != text.length()) {
        throw p.error("trailing text");
      }
      return value;
    }

    private Object value() {
      whitespace();
      if (pos >= s.length()) {
        throw error("end of input");
      }
      char c = s.charAt(pos);
      switch (c) {
        case '{':
          return object();
        case '[':
          return array();
        case '"':
          return string();
        case 't':
          return literal("true", Boolean.TRUE);
        case 'f':
          return literal("false", Boolean.FALSE);
        case 'n':
          return literal("null", null);
        default:
          return number();
      }
    }

    private Map<String, Object> object() {
      Map<String, Object> map = new LinkedHashMap<>();
      pos++;
      whitespace();
      if (peek('}')) {
        pos++;
        return map;
      }
      while (true) {
        whitespace();
        if (!peek('"')) {
          throw error("member name");
        }
        String name = string();
        whitespace();
        expect(':');
        if (map.put(name, value()) != null) {
          throw error("duplicate member " + name);
        }
        whitespace();
        if (peek(',')) {
          pos++;
        } else {
          expect('}');
          return map;
        }
      }
    }

    private List<Object> array() {
      List<Object> list = new ArrayList<>();
      pos++;
      whitespace();
      if (peek(']')) {
        pos++;
        return list;
      }
      while (true) {
        list.add(value());
        whitespace();
        if (peek(',')) {
          pos++;
        } else {
          expect(']');
          return list;
        }
      }
    }

    private String string() {
      expect('"');
      StringBuilder out = new StringBuilder();
      while (true) {
        if (pos >= s.length()) {
          throw error("unterminated string");
        }
        char c = s.charAt(pos++);
        if (c == '"') {
          return out.toString();
        }
        if (c < 0x20) {
          throw error("raw control character");
        }
        if (c != '\\') {
          out.append(c);
          continue;
        }
        char e = s.charAt(pos++);
        switch (e) {
          case '"':
          case '\\':
          case '/':
            out.append(e);
            break;
          case 'b':
            out.append('\b');
            break;
          case 'f':
            out.append('\f');
            break;
          case 'n':
            out.append('\n');
            break;
          case 'r':
            out.append('\r');
            break;
          case 't':
            out.append('\t');
            break;
          case 'u':
            out.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
            pos += 4;
            break;
          default:
            throw error("bad escape \\" + e);
        }
      }
    }

    private BigDecimal number() {
      int start = pos;
      while (pos < s.length() && "+-0123456789.eE".indexOf(s.charAt(pos)) >= 0) {
        pos++;
      }
      String n = s.substring(start, pos);
      if (!n.matches("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?")) {
        throw error("bad value '" + n + "'");
      }
      return new BigDecimal(n);
    }

    private Object literal(String word, Object value) {
      if (!s.startsWith(word, pos)) {
        throw error("bad literal");
      }
      pos += word.length();
      return value;
    }

    private void whitespace() {
      while (pos < s.length() && " \t\n\r".indexOf(s.charAt(pos)) >= 0) {
        pos++;
      }
    }

    private boolean peek(char c) {
      return pos < s.length() && s.charAt(pos) == c;
    }

    private void expect(char c) {
      if (!peek(c)) {
        throw error("expected '" + c + "'");
      }
      pos++;
    }

    private IllegalArgumentException error(String what) {
      return new IllegalArgumentException("invalid JSON at " + pos + ": " + what + " in " + s);
    }
  }
}
