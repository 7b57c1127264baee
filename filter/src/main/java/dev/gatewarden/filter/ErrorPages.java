package dev.gatewarden.filter;

import dev.gatewarden.resilience.ConfigException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.Enumeration;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

/**
 * Writes the friendly error pages: HTML for browsers, RFC 9457 {@code application/problem+json} for
 * API clients, plain text otherwise (chosen by {@link AcceptNegotiation}). Immutable and
 * thread-safe once loaded.
 *
 * <p>Design note. An error page is written when something already went wrong, so writing it must
 * not fail and must not leak: the templates are read, checked and compiled into literal and
 * placeholder segments once, at start-up, where a bad template is a {@link ConfigException} naming
 * its key; rendering then only concatenates. The renderer is never given exception text, stack
 * traces, host names or ports, so no template can show them. The two values that come from the
 * request, its path and its id, are escaped for the template's format before substitution (see
 * {@link Escaping}); the wording is ours and blames nobody.
 *
 * <p>Templates are UTF-8 text with these placeholders:
 *
 * <ul>
 *   <li>{@code {{status}}} 503; {@code {{statusText}}} Service Unavailable; {@code {{title}}} and
 *       {@code {{detail}}} the friendly wording; {@code {{path}}} the request path; {@code
 *       {{requestId}}}; {@code {{retryAfter}}} seconds, 0 when none; {@code {{retryAfterText}}} "30
 *       seconds", empty when none;
 *   <li>HTML only: {@code {{refreshMeta}}}, the {@code <meta http-equiv="refresh">} tag or nothing;
 *   <li>sections {@code {{#name}}…{{/name}}} (shown only when the value is there) and {@code
 *       {{^name}}…{{/name}}} (only when it is not) for {@code path}, {@code requestId}, {@code
 *       retryAfter} and, HTML only, {@code autoRetry} (the page will reload itself).
 * </ul>
 *
 * <p>Any other {@code {{…}}} fails at load time, so a typo cannot silently blank a page.
 */
final class ErrorPages {
  static final String HTML_KEY = "error-page.html-template";
  static final String JSON_KEY = "error-page.json-template";
  static final String TEXT_KEY = "error-page.text-template";

  static final String HTML_TYPE = "text/html;charset=UTF-8";
  static final String PROBLEM_JSON_TYPE = "application/problem+json";
  static final String TEXT_TYPE = "text/plain;charset=UTF-8";

  static final String CONTENT_SECURITY_POLICY =
      "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none';"
          + " frame-ancestors 'none'";

  /** Templates larger than this are refused: an error page should be small. */
  static final int MAX_TEMPLATE_BYTES = 256 * 1024;

  /** Longer paths are shortened (with an ellipsis) before they are shown. */
  static final int MAX_PATH_CHARS = 1024;

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
   * Reads and compiles the three templates. A {@code null} location means the built-in template;
   * otherwise {@code classpath:/x/y.html} (resolved with {@code loader}), {@code file:/path} or a
   * plain file path.
   *
   * @param autoRetry whether HTML pages reload themselves after {@code Retry-After}
   * @param loader resolves {@code classpath:} locations; {@code null} means this library's loader
   * @throws ConfigException naming the template's key and location when a template cannot be read,
   *     is empty, too large or not UTF-8, or uses an unknown placeholder or an unbalanced section
   */
  static ErrorPages load(
      String htmlTemplate,
      String jsonTemplate,
      String textTemplate,
      boolean autoRetry,
      ClassLoader loader) {
    return new ErrorPages(
        Template.load(Format.HTML, htmlTemplate, loader),
        Template.load(Format.JSON, jsonTemplate, loader),
        Template.load(Format.TEXT, textTemplate, loader),
        autoRetry);
  }

  /**
   * Writes one complete error response: status (with {@code setStatus}, so no container error page
   * can replace it), headers, and the page unless the request is {@code HEAD}. The response must
   * not be committed and should have been {@link HttpServletResponse#reset() reset}.
   *
   * @param status 400 to 599
   * @param requestId shown as the page's reference (escaped)
   * @param retryAfterSeconds when greater than 0, sent as {@code Retry-After} and shown
   */
  void write(
      HttpServletRequest request,
      HttpServletResponse response,
      int status,
      String requestId,
      long retryAfterSeconds)
      throws IOException {
    String method = request.getMethod();
    boolean head = "HEAD".equals(method);
    // A refresh is a GET of the same URL: harmless after a GET, not a way to repeat a POST.
    boolean mayRefresh = head || "GET".equals(method);
    Rendered page =
        render(
            accept(request),
            status,
            requestId,
            request.getRequestURI(),
            retryAfterSeconds,
            mayRefresh);
    response.setStatus(status);
    response.setContentType(page.contentType());
    response.setContentLength(page.body().length);
    response.setHeader("Cache-Control", "no-store");
    response.setHeader("Vary", "Accept");
    response.setHeader("X-Content-Type-Options", "nosniff");
    if (page.contentType().equals(HTML_TYPE)) {
      response.setHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    }
    if (retryAfterSeconds > 0) {
      response.setHeader("Retry-After", Long.toString(retryAfterSeconds));
    }
    if (!head) {
      response.getOutputStream().write(page.body());
    }
  }

  /** Renders the page for a {@code GET} with this {@code Accept} header (null when absent). */
  Rendered render(
      String accept, int status, String requestId, String path, long retryAfterSeconds) {
    return render(accept, status, requestId, path, retryAfterSeconds, true);
  }

  /**
   * Renders a page.
   *
   * @param mayRefresh whether an HTML page may reload itself (false for methods other than GET and
   *     HEAD)
   * @throws IllegalArgumentException if status is not 400 to 599
   */
  Rendered render(
      String accept,
      int status,
      String requestId,
      String path,
      long retryAfterSeconds,
      boolean mayRefresh) {
    Values values =
        new Values(
            status,
            requestId == null ? "" : requestId,
            shorten(path == null ? "" : path),
            Math.max(0, retryAfterSeconds),
            autoRetry && mayRefresh && retryAfterSeconds > 0);
    switch (AcceptNegotiation.choose(accept)) {
      case HTML:
        return new Rendered(HTML_TYPE, html.render(values));
      case PROBLEM_JSON:
        return new Rendered(PROBLEM_JSON_TYPE, json.render(values));
      default:
        return new Rendered(TEXT_TYPE, text.render(values));
    }
  }

  /** A rendered page: its {@code Content-Type} and its UTF-8 body. */
  record Rendered(String contentType, byte[] body) {
    /** The body as text. */
    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  private static String accept(HttpServletRequest request) {
    Enumeration<String> values = request.getHeaders("Accept");
    if (values == null) {
      return request.getHeader("Accept");
    }
    List<String> all = new ArrayList<>(1);
    while (values.hasMoreElements()) {
      all.add(values.nextElement());
    }
    return all.isEmpty() ? null : String.join(",", all);
  }

  private static String shorten(String path) {
    if (path.length() <= MAX_PATH_CHARS) {
      return path;
    }
    int end = MAX_PATH_CHARS;
    if (Character.isHighSurrogate(path.charAt(end - 1))) {
      end--;
    }
    return path.substring(0, end) + "\u2026";
  }

  // ---- wording ----------------------------------------------------------------------------

  static String title(int status) {
    switch (status) {
      case 404:
        return "This page could not be found";
      case 429:
        return "Too many requests";
      case 502:
        return "Something went wrong on our side";
      case 503:
        return "This page is temporarily unavailable";
      case 504:
        return "This page took too long";
      default:
        return status < 500 ? "This request could not be completed" : "Something went wrong";
    }
  }

  static String detail(int status, long retryAfterSeconds) {
    String retry =
        retryAfterSeconds > 0
            ? " Please try again in " + duration(retryAfterSeconds) + "."
            : " Please try again in a moment.";
    switch (status) {
      case 404:
        return "The address may be mistyped, or the page may have moved.";
      case 429:
        return "We received more requests than we can answer right now." + retry;
      case 500:
        return "We could not finish loading this page." + retry;
      case 502:
        return "A service this page needs sent us an answer we could not use." + retry;
      case 503:
        return "We are handling more requests than we can right now, or a service this page needs"
            + " is down."
            + retry;
      case 504:
        return "A service this page needs did not answer in time." + retry;
      default:
        return status < 500
            ? "Please check the address, or go back and try again."
            : "This page could not be loaded right now." + retry;
    }
  }

  /** The standard reason phrase, which RFC 9457 wants as the title of an about:blank problem. */
  static String statusText(int status) {
    switch (status) {
      case 400:
        return "Bad Request";
      case 401:
        return "Unauthorized";
      case 403:
        return "Forbidden";
      case 404:
        return "Not Found";
      case 405:
        return "Method Not Allowed";
      case 408:
        return "Request Timeout";
      case 409:
        return "Conflict";
      case 410:
        return "Gone";
      case 413:
        return "Content Too Large";
      case 414:
        return "URI Too Long";
      case 415:
        return "Unsupported Media Type";
      case 422:
        return "Unprocessable Content";
      case 429:
        return "Too Many Requests";
      case 500:
        return "Internal Server Error";
      case 501:
        return "Not Implemented";
      case 502:
        return "Bad Gateway";
      case 503:
        return "Service Unavailable";
      case 504:
        return "Gateway Timeout";
      case 505:
        return "HTTP Version Not Supported";
      default:
        return status < 500 ? "Client Error" : "Server Error";
    }
  }

  /** "1 second", "30 seconds", "2 minutes", "1 hour". */
  static String duration(long seconds) {
    if (seconds % 3600 == 0) {
      return plural(seconds / 3600, "hour");
    }
    if (seconds % 60 == 0) {
      return plural(seconds / 60, "minute");
    }
    return plural(seconds, "second");
  }

  private static String plural(long n, String unit) {
    return n + " " + unit + (n == 1 ? "" : "s");
  }

  // ---- templates --------------------------------------------------------------------------

  /** The three template formats: where their settings and defaults live, how values are escaped. */
  private enum Format {
    HTML(HTML_KEY, "error-page.html", Escaping::html, true),
    JSON(JSON_KEY, "error-page.json", Escaping::json, false),
    TEXT(TEXT_KEY, "error-page.txt", Escaping::text, false);

    final String key;
    final String builtIn;
    final UnaryOperator<String> escape;
    final boolean html;

    Format(String key, String builtIn, UnaryOperator<String> escape, boolean html) {
      this.key = key;
      this.builtIn = builtIn;
      this.escape = escape;
      this.html = html;
    }
  }

  /** What a placeholder stands for. */
  private enum Field {
    STATUS("status", false),
    STATUS_TEXT("statusText", false),
    TITLE("title", false),
    DETAIL("detail", false),
    PATH("path", false),
    REQUEST_ID("requestId", false),
    RETRY_AFTER("retryAfter", false),
    RETRY_AFTER_TEXT("retryAfterText", false),
    REFRESH_META("refreshMeta", true);

    final String placeholder;
    final boolean htmlOnly;

    Field(String placeholder, boolean htmlOnly) {
      this.placeholder = placeholder;
      this.htmlOnly = htmlOnly;
    }

    static Field named(String name, Format format) {
      for (Field f : values()) {
        if (f.placeholder.equals(name) && (format.html || !f.htmlOnly)) {
          return f;
        }
      }
      return null;
    }
  }

  /** What a section can test. Each is one bit of a mask. */
  private enum Condition {
    PATH("path", false),
    REQUEST_ID("requestId", false),
    RETRY_AFTER("retryAfter", false),
    AUTO_RETRY("autoRetry", true);

    final String name;
    final boolean htmlOnly;

    Condition(String name, boolean htmlOnly) {
      this.name = name;
      this.htmlOnly = htmlOnly;
    }

    int bit() {
      return 1 << ordinal();
    }

    static Condition named(String name, Format format) {
      for (Condition c : values()) {
        if (c.name.equals(name) && (format.html || !c.htmlOnly)) {
          return c;
        }
      }
      return null;
    }
  }

  /** The values of one page, before escaping. */
  private static final class Values {
    final int status;
    final String requestId;
    final String path;
    final long retryAfter;
    final boolean refresh;
    final int conditions;

    Values(int status, String requestId, String path, long retryAfter, boolean refresh) {
      if (status < 400 || status > 599) {
        throw new IllegalArgumentException("an error page's status is 400 to 599, not " + status);
      }
      this.status = status;
      this.requestId = requestId;
      this.path = path;
      this.retryAfter = retryAfter;
      this.refresh = refresh;
      this.conditions =
          (path.isEmpty() ? 0 : Condition.PATH.bit())
              | (requestId.isEmpty() ? 0 : Condition.REQUEST_ID.bit())
              | (retryAfter > 0 ? Condition.RETRY_AFTER.bit() : 0)
              | (refresh ? Condition.AUTO_RETRY.bit() : 0);
    }

    String get(Field field, Format format) {
      switch (field) {
        case STATUS:
          return Integer.toString(status);
        case STATUS_TEXT:
          return format.escape.apply(statusText(status));
        case TITLE:
          return format.escape.apply(title(status));
        case DETAIL:
          return format.escape.apply(detail(status, retryAfter));
        case PATH:
          return format.escape.apply(path);
        case REQUEST_ID:
          return format.escape.apply(requestId);
        case RETRY_AFTER:
          return Long.toString(retryAfter);
        case RETRY_AFTER_TEXT:
          return retryAfter > 0 ? duration(retryAfter) : "";
        case REFRESH_META:
          return refresh ? "<meta http-equiv=\"refresh\" content=\"" + retryAfter + "\">" : "";
        default:
          throw new AssertionError(field);
      }
    }
  }

  /**
   * A compiled template: a flat list of segments, each a literal or a field, each shown only when
   * the page's conditions include all of {@code when} and none of {@code unless} (the sections
   * around it). Immutable.
   */
  private static final class Template {
    private static final int FIELD_COUNT = Field.values().length;

    private final Format format;
    private final String[] literals; // null where the segment is a field
    private final Field[] fields;
    private final int[] when;
    private final int[] unless;
    private final Field[] used;
    private final int sizeHint;

    private Template(Format format, List<Segment> segments, int sizeHint) {
      this.format = format;
      int n = segments.size();
      this.literals = new String[n];
      this.fields = new Field[n];
      this.when = new int[n];
      this.unless = new int[n];
      for (int i = 0; i < n; i++) {
        Segment s = segments.get(i);
        literals[i] = s.literal;
        fields[i] = s.field;
        when[i] = s.when;
        unless[i] = s.unless;
      }
      this.used =
          segments.stream()
              .map(s -> s.field)
              .filter(f -> f != null)
              .distinct()
              .toArray(Field[]::new);
      this.sizeHint = sizeHint;
    }

    static Template load(Format format, String location, ClassLoader loader) {
      String source = read(format, location, loader);
      return compile(format, location, source);
    }

    byte[] render(Values v) {
      String[] value = new String[FIELD_COUNT];
      for (Field f : used) {
        value[f.ordinal()] = v.get(f, format);
      }
      StringBuilder out = new StringBuilder(sizeHint + 256);
      for (int i = 0; i < literals.length; i++) {
        if ((v.conditions & when[i]) != when[i] || (v.conditions & unless[i]) != 0) {
          continue;
        }
        out.append(literals[i] != null ? literals[i] : value[fields[i].ordinal()]);
      }
      return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static final class Segment {
      final String literal;
      final Field field;
      final int when;
      final int unless;

      Segment(String literal, Field field, int when, int unless) {
        this.literal = literal;
        this.field = field;
        this.when = when;
        this.unless = unless;
      }
    }

    private static final class Open {
      final Condition condition;
      final boolean inverted;
      final int line;

      Open(Condition condition, boolean inverted, int line) {
        this.condition = condition;
        this.inverted = inverted;
        this.line = line;
      }
    }

    static Template compile(Format format, String location, String source) {
      List<Segment> segments = new ArrayList<>();
      Deque<Open> open = new ArrayDeque<>();
      int when = 0;
      int unless = 0;
      int pos = 0;
      while (pos < source.length()) {
        int start = source.indexOf("{{", pos);
        // In "{{{name}}" the first brace is text: a JSON object can open right before a tag.
        while (start >= 0 && source.startsWith("{{", start + 1)) {
          start++;
        }
        if (start < 0) {
          segments.add(new Segment(source.substring(pos), null, when, unless));
          break;
        }
        if (start > pos) {
          segments.add(new Segment(source.substring(pos, start), null, when, unless));
        }
        int line = lineOf(source, start);
        int end = source.indexOf("}}", start + 2);
        if (end < 0) {
          throw invalid(
              format, location, "every {{ closed by }}; the one on line " + line + " is not");
        }
        String tag = source.substring(start + 2, end).trim();
        char sigil = tag.isEmpty() ? ' ' : tag.charAt(0);
        if (sigil == '#' || sigil == '^' || sigil == '/') {
          String name = tag.substring(1).trim();
          Condition c = Condition.named(name, format);
          if (c == null) {
            throw invalid(
                format,
                location,
                sections(format) + "; {{" + tag + "}} on line " + line + " is unknown");
          }
          if (sigil == '/') {
            if (open.isEmpty() || open.peek().condition != c) {
              throw invalid(
                  format,
                  location,
                  "balanced sections; {{"
                      + tag
                      + "}} on line "
                      + line
                      + " does not close the innermost open section");
            }
            open.pop();
          } else {
            open.push(new Open(c, sigil == '^', line));
          }
          when = 0;
          unless = 0;
          for (Open o : open) {
            if (o.inverted) {
              unless |= o.condition.bit();
            } else {
              when |= o.condition.bit();
            }
          }
        } else {
          Field f = Field.named(tag, format);
          if (f == null) {
            throw invalid(
                format,
                location,
                placeholders(format) + "; {{" + tag + "}} on line " + line + " is unknown");
          }
          segments.add(new Segment(null, f, when, unless));
        }
        pos = end + 2;
      }
      if (!open.isEmpty()) {
        Open o = open.peek();
        throw invalid(
            format,
            location,
            "balanced sections; {{"
                + (o.inverted ? '^' : '#')
                + o.condition.name
                + "}} on line "
                + o.line
                + " is never closed");
      }
      return new Template(format, segments, source.length());
    }

    private static int lineOf(String s, int index) {
      int line = 1;
      for (int i = 0; i < index; i++) {
        if (s.charAt(i) == '\n') {
          line++;
        }
      }
      return line;
    }

    private static String placeholders(Format format) {
      return "a template using only the placeholders "
          + Arrays.stream(Field.values())
              .filter(f -> format.html || !f.htmlOnly)
              .map(f -> "{{" + f.placeholder + "}}")
              .collect(Collectors.joining(", "))
          + " and sections on "
          + conditions(format);
    }

    private static String sections(Format format) {
      return "a template using only the sections {{#name}}…{{/name}} and {{^name}}…{{/name}} on "
          + conditions(format);
    }

    private static String conditions(Format format) {
      return Arrays.stream(Condition.values())
          .filter(c -> format.html || !c.htmlOnly)
          .map(c -> c.name)
          .collect(Collectors.joining(", "));
    }

    private static RuntimeException invalid(Format format, String location, String allowed) {
      if (location == null) {
        return new IllegalStateException(
            "gatewarden: built-in template " + format.builtIn + " is broken: expected " + allowed);
      }
      return new ConfigException(format.key, location, allowed);
    }
  }

  // ---- reading ----------------------------------------------------------------------------

  private static String read(Format format, String location, ClassLoader loader) {
    if (location == null) {
      try (InputStream in = ErrorPages.class.getResourceAsStream(format.builtIn)) {
        if (in == null) {
          throw new IllegalStateException(
              "gatewarden: built-in template missing: " + format.builtIn);
        }
        return decode(format, null, in.readAllBytes());
      } catch (IOException e) {
        throw new IllegalStateException("gatewarden: cannot read " + format.builtIn, e);
      }
    }
    return decode(
        format,
        location,
        Locations.read(
            format.key, location, loader, MAX_TEMPLATE_BYTES, "a readable UTF-8 template"));
  }

  private static String decode(Format format, String location, byte[] bytes) {
    if (bytes.length > MAX_TEMPLATE_BYTES) {
      throw tooLarge(format, location);
    }
    String s;
    try {
      s =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
    } catch (CharacterCodingException e) {
      throw Template.invalid(format, location, "a template encoded in UTF-8");
    }
    if (s.startsWith("\uFEFF")) {
      s = s.substring(1); // a byte order mark some editors add
    }
    if (s.isBlank()) {
      throw Template.invalid(format, location, "a template that is not empty");
    }
    return s;
  }

  private static RuntimeException tooLarge(Format format, String location) {
    return Template.invalid(
        format, location, "a template of at most " + MAX_TEMPLATE_BYTES / 1024 + "KiB");
  }
}
