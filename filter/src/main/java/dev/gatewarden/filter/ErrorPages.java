package dev.gatewarden.filter;

import dev.gatewarden.resilience.ConfigException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Renders the friendly error pages: HTML for browsers, RFC 9457 {@code application/problem+json}
 * for API clients, plain text otherwise (see {@link AcceptNegotiation}). Templates use {@code
 * {{name}}} placeholders and are parsed once at start-up; every value that can come from a request
 * is escaped for the template's type, and the page never receives exception text, stack traces,
 * hosts or ports in the first place. Thread-safe.
 */
final class ErrorPages {
  static final String HTML_KEY = "error-page.html-template";
  static final String JSON_KEY = "error-page.json-template";
  static final String TEXT_KEY = "error-page.text-template";

  private static final String CSP =
      "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none';"
          + " frame-ancestors 'none'";
  private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{\\s*([A-Za-z]+)\\s*}}");
  private static final Set<String> PLACEHOLDERS =
      Set.of(
          "status",
          "title",
          "detail",
          "path",
          "requestId",
          "retryAfter",
          "retryNote",
          "refresh",
          "retryAfterMember");

  private final Template html;
  private final Template json;
  private final Template text;
  private final boolean autoRetry;

  private ErrorPages(Template html, Template json, Template text, boolean autoRetry) {
    this.html = html;
    this.json = json;
    this.text = text;
    this.autoRetry = autoRetry;
  }

  /**
   * Loads and checks the templates; {@code null} locations mean the built-in ones.
   *
   * @throws ConfigException naming the template key when a template cannot be read or uses an
   *     unknown placeholder
   */
  static ErrorPages load(
      String htmlLocation,
      String jsonLocation,
      String textLocation,
      boolean autoRetry,
      ClassLoader loader) {
    return new ErrorPages(
        Template.parse(
            HTML_KEY,
            htmlLocation,
            read(HTML_KEY, htmlLocation, "error-page.html", loader),
            Escaping::html),
        Template.parse(
            JSON_KEY,
            jsonLocation,
            read(JSON_KEY, jsonLocation, "error-page.json", loader),
            Escaping::json),
        Template.parse(
            TEXT_KEY,
            textLocation,
            read(TEXT_KEY, textLocation, "error-page.txt", loader),
            Escaping::text),
        autoRetry);
  }

  /** A rendered page. */
  static final class Rendered {
    final String contentType;
    final byte[] body;

    Rendered(String contentType, byte[] body) {
      this.contentType = contentType;
      this.body = body;
    }

    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  /**
   * Writes one complete error response on an uncommitted, reset response: status, headers and (but
   * for HEAD) the page.
   */
  void write(
      HttpServletRequest request,
      HttpServletResponse response,
      int status,
      String requestId,
      long retryAfterSeconds)
      throws IOException {
    Rendered page =
        render(
            request.getHeader("Accept"),
            status,
            requestId,
            request.getRequestURI(),
            retryAfterSeconds);
    response.setStatus(status);
    response.setContentType(page.contentType);
    response.setContentLength(page.body.length);
    response.setHeader("Cache-Control", "no-store");
    response.setHeader("Vary", "Accept");
    response.setHeader("X-Content-Type-Options", "nosniff");
    if (page.contentType.startsWith("text/html")) {
      response.setHeader("Content-Security-Policy", CSP);
    }
    if (retryAfterSeconds > 0) {
      response.setHeader("Retry-After", Long.toString(retryAfterSeconds));
    }
    if (!"HEAD".equals(request.getMethod())) {
      response.getOutputStream().write(page.body);
    }
  }

  Rendered render(
      String accept, int status, String requestId, String path, long retryAfterSeconds) {
    String title;
    String detail;
    switch (status) {
      case 502:
        title = "Something went wrong on our side";
        detail = "This page got an invalid answer from a service it depends on.";
        break;
      case 503:
        title = "This page is temporarily unavailable";
        detail =
            "We are handling more requests than we can right now, or a service this page needs is"
                + " down.";
        break;
      case 504:
        title = "This page took too long";
        detail = "A service this page needs did not answer in time.";
        break;
      default:
        title = "Something went wrong";
        detail = "An unexpected error stopped this page from loading. It has been logged.";
    }
    Values v = new Values(status, title, detail, path, requestId, retryAfterSeconds);
    switch (AcceptNegotiation.choose(accept)) {
      case HTML:
        return new Rendered("text/html;charset=UTF-8", html.render(v, this::htmlExtra));
      case PROBLEM_JSON:
        return new Rendered("application/problem+json", json.render(v, this::jsonExtra));
      default:
        return new Rendered("text/plain;charset=UTF-8", text.render(v, this::textExtra));
    }
  }

  private String htmlExtra(String name, Values v) {
    switch (name) {
      case "refresh":
        return autoRetry && v.retryAfter > 0
            ? "<meta http-equiv=\"refresh\" content=\"" + v.retryAfter + "\">\n"
            : "";
      case "retryNote":
        if (v.retryAfter <= 0) {
          return "<p>Please try again in a moment.</p>";
        }
        return autoRetry
            ? "<p class=\"retry\">This page will try again by itself in "
                + v.retryAfter
                + " seconds.</p>"
            : "<p class=\"retry\">Please try again in " + v.retryAfter + " seconds.</p>";
      default:
        return "";
    }
  }

  private String jsonExtra(String name, Values v) {
    return name.equals("retryAfterMember") && v.retryAfter > 0
        ? ",\n  \"retryAfter\": " + v.retryAfter
        : "";
  }

  private String textExtra(String name, Values v) {
    if (name.equals("retryNote")) {
      return v.retryAfter > 0
          ? "Please try again in " + v.retryAfter + " seconds.\n"
          : "Please try again in a moment.\n";
    }
    return "";
  }

  /** The values a page shows. */
  private static final class Values {
    final int status;
    final String title;
    final String detail;
    final String path;
    final String requestId;
    final long retryAfter;

    Values(
        int status, String title, String detail, String path, String requestId, long retryAfter) {
      this.status = status;
      this.title = title;
      this.detail = detail;
      this.path = path;
      this.requestId = requestId;
      this.retryAfter = retryAfter;
    }
  }

  /** Computes a placeholder whose value is markup generated here (not escaped). */
  @FunctionalInterface
  private interface Extra {
    String value(String name, Values v);
  }

  /** A template parsed into literal text and placeholders. Immutable. */
  private static final class Template {
    private final List<String> literals; // literals.size() == names.size() + 1
    private final List<String> names;
    private final UnaryOperator<String> escape;

    private Template(List<String> literals, List<String> names, UnaryOperator<String> escape) {
      this.literals = literals;
      this.names = names;
      this.escape = escape;
    }

    static Template parse(
        String key, String location, String source, UnaryOperator<String> escape) {
      List<String> literals = new ArrayList<>();
      List<String> names = new ArrayList<>();
      Matcher m = PLACEHOLDER.matcher(source);
      int last = 0;
      while (m.find()) {
        String name = m.group(1);
        if (!PLACEHOLDERS.contains(name)) {
          throw new ConfigException(
              key,
              location,
              "a template whose placeholders are among "
                  + new java.util.TreeSet<>(PLACEHOLDERS)
                  + " (found {{"
                  + name
                  + "}})");
        }
        literals.add(source.substring(last, m.start()));
        names.add(name);
        last = m.end();
      }
      literals.add(source.substring(last));
      return new Template(List.copyOf(literals), List.copyOf(names), escape);
    }

    byte[] render(Values v, Extra extra) {
      StringBuilder sb = new StringBuilder(2048);
      for (int i = 0; i < names.size(); i++) {
        sb.append(literals.get(i));
        String name = names.get(i);
        switch (name) {
          case "status":
            sb.append(v.status);
            break;
          case "title":
            sb.append(escape.apply(v.title));
            break;
          case "detail":
            sb.append(escape.apply(v.detail));
            break;
          case "path":
            sb.append(escape.apply(v.path));
            break;
          case "requestId":
            sb.append(escape.apply(v.requestId));
            break;
          case "retryAfter":
            sb.append(v.retryAfter > 0 ? Long.toString(v.retryAfter) : "");
            break;
          default:
            sb.append(extra.value(name, v));
        }
      }
      sb.append(literals.get(literals.size() - 1));
      return sb.toString().getBytes(StandardCharsets.UTF_8);
    }
  }

  private static String read(String key, String location, String builtIn, ClassLoader loader) {
    if (location == null || location.isBlank()) {
      try (InputStream in = ErrorPages.class.getResourceAsStream(builtIn)) {
        if (in == null) {
          throw new IllegalStateException("built-in template missing: " + builtIn);
        }
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new IllegalStateException("built-in template unreadable: " + builtIn, e);
      }
    }
    String allowed = "a readable template: classpath:/path, file:/path or a file path";
    try {
      if (location.startsWith("classpath:")) {
        String path = location.substring("classpath:".length());
        try (InputStream in =
            loader.getResourceAsStream(path.startsWith("/") ? path.substring(1) : path)) {
          if (in == null) {
            throw new ConfigException(key, location, allowed + " (not found on the class path)");
          }
          return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
      }
      Path p = Path.of(location.startsWith("file:") ? location.substring(5) : location);
      if (!Files.isReadable(p)) {
        throw new ConfigException(key, location, allowed + " (no readable file there)");
      }
      return Files.readString(p, StandardCharsets.UTF_8);
    } catch (IOException | IllegalArgumentException e) {
      if (e instanceof ConfigException) {
        throw (ConfigException) e;
      }
      throw new ConfigException(key, location, allowed + " (" + e.getMessage() + ")", e);
    }
  }
}
