package dev.gatewarden.examples;

import dev.gatewarden.filter.GatewardenConfig;
import dev.gatewarden.filter.GatewardenFilter;
import dev.gatewarden.filter.Route;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.EnumSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * The Gatewarden demo: a small shop on embedded Jetty whose pages fail now and then, with
 * GatewardenFilter in front. The terminal shows what Gatewarden did for each request; the browser
 * shows stale copies and friendly error pages instead of broken pages.
 *
 * <pre>
 * mvn -B -q -Pdemo -pl examples -am -DskipTests verify        # interactive, Ctrl+C to stop
 * java ... dev.gatewarden.examples.Demo --smoke                # starts, checks itself, exits 0/1
 * </pre>
 */
public final class Demo {
  private final AtomicBoolean broken = new AtomicBoolean();
  private volatile boolean randomFailures = true;
  private Server server;

  /**
   * Starts the shop on 127.0.0.1 and the given port (0 for any free port); returns its base URI.
   */
  URI start(int port) throws Exception {
    server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(port);
    server.addConnector(connector);

    ServletContextHandler context = new ServletContextHandler();
    context.setContextPath("/");
    GatewardenConfig config =
        GatewardenConfig.builder()
            .retryAfter(Duration.ofSeconds(10))
            .route(Route.builder("api").patterns("/api/*").build())
            .build();
    FilterHolder log = new FilterHolder(new RequestLine());
    context.addFilter(log, "/*", EnumSet.of(DispatcherType.REQUEST));
    FilterHolder gatewarden = new FilterHolder(new GatewardenFilter(config));
    gatewarden.setAsyncSupported(true);
    context.addFilter(gatewarden, "/*", EnumSet.of(DispatcherType.REQUEST));

    context.addServlet(new ServletHolder(new Index()), "");
    context.addServlet(new ServletHolder(new Products()), "/products");
    context.addServlet(new ServletHolder(new Stock()), "/api/stock");
    context.addServlet(new ServletHolder(new Account()), "/account");
    context.addServlet(new ServletHolder(new Break()), "/admin/break");
    server.setHandler(context);
    server.start();
    return URI.create("http://127.0.0.1:" + connector.getLocalPort());
  }

  void stop() throws Exception {
    server.stop();
  }

  public static void main(String[] args) throws Exception {
    boolean smoke = args.length > 0 && args[0].equals("--smoke");
    Demo demo = new Demo();
    URI base = demo.start(smoke ? 0 : preferredPort());
    if (smoke) {
      int failures = demo.smoke(base);
      demo.stop();
      System.exit(failures == 0 ? 0 : 1);
    }
    System.out.println();
    System.out.println("  Gatewarden demo shop: " + base + "/");
    System.out.println(
        "  Reload " + base + "/products a few times: it fails about one time in three,");
    System.out.println(
        "  and Gatewarden answers with its last good copy or a friendly error page.");
    System.out.println("  Break everything: " + base + "/admin/break?on=true   (and ?on=false)");
    System.out.println(
        "  Try: curl -i "
            + base
            + "/api/stock   and   curl -i -H 'Accept: application/json' "
            + base
            + "/account");
    System.out.println("  Ctrl+C stops the demo.");
    System.out.println();
    demo.server.join();
  }

  private static int preferredPort() {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress("127.0.0.1", 8080));
      return 8080;
    } catch (IOException taken) {
      return 0;
    }
  }

  /** Walks through what the demo shows; returns the number of checks that failed. */
  int smoke(URI base) throws Exception {
    HttpClient client = HttpClient.newHttpClient();
    randomFailures = false; // the walk-through is deterministic; only "break" makes pages fail
    int failures = 0;
    broken.set(false);
    failures +=
        check(client, base, "/products", "text/html", 200, null, "a good page is passed through");
    failures +=
        check(client, base, "/api/stock", "application/json", 200, null, "a good API answer");
    broken.set(true);
    failures +=
        check(
            client,
            base,
            "/products",
            "text/html",
            200,
            "Cache-Status",
            "the app fails: the last good copy is served, marked with Cache-Status");
    failures +=
        check(
            client,
            base,
            "/account",
            "text/html",
            503,
            null,
            "a private page is never stored: the friendly error page");
    failures +=
        check(
            client,
            base,
            "/account",
            "application/json",
            503,
            null,
            "API clients get application/problem+json");
    broken.set(false);
    System.out.println(
        failures == 0 ? "smoke: all checks passed" : "smoke: " + failures + " failed");
    return failures;
  }

  private static int check(
      HttpClient client,
      URI base,
      String path,
      String accept,
      int status,
      String header,
      String what)
      throws Exception {
    HttpResponse<String> r =
        client.send(
            HttpRequest.newBuilder(base.resolve(path)).header("Accept", accept).build(),
            HttpResponse.BodyHandlers.ofString());
    boolean ok =
        r.statusCode() == status && (header == null || r.headers().firstValue(header).isPresent());
    System.out.printf(
        "smoke: %-4s %s %-12s -> %d %s%n", ok ? "ok" : "FAIL", "GET", path, r.statusCode(), what);
    return ok ? 0 : 1;
  }

  // ---- the shop ---------------------------------------------------------------------------

  private boolean failsNow(double probability) {
    return broken.get()
        || (randomFailures && ThreadLocalRandom.current().nextDouble() < probability);
  }

  private final class Index extends HttpServlet {
    private static final long serialVersionUID = 1L;

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      resp.setContentType("text/html;charset=UTF-8");
      resp.setHeader("Cache-Control", "no-store");
      resp.getWriter()
          .write(
              "<!DOCTYPE html><html><head><meta charset=utf-8><title>Gatewarden demo shop</title>"
                  + "<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;line-height:1.5}"
                  + "code{background:#f3f4f6;padding:.1rem .3rem}</style></head><body>"
                  + "<h1>Gatewarden demo shop</h1>"
                  + "<p>Every page here fails now and then, like a real app whose database is having a bad day."
                  + " Gatewarden answers for it: with the last good copy of the page when that is safe, else"
                  + " with a friendly error page. Watch the terminal: it says what happened for every request.</p>"
                  + "<ul><li><a href=/products>/products</a> — fails about one time in three (a database error);"
                  + " reload it a few times</li>"
                  + "<li><a href=/api/stock>/api/stock</a> — JSON; sometimes answers 503 itself</li>"
                  + "<li><a href=/account>/account</a> — personal (<code>Cache-Control: private</code>), so never"
                  + " stored: failures show the error page</li>"
                  + "<li><a href=/admin/break?on=true>break everything</a> /"
                  + " <a href=/admin/break?on=false>repair</a></li></ul>"
                  + "<p>Broken right now: <b>"
                  + broken.get()
                  + "</b></p></body></html>");
    }
  }

  private final class Products extends HttpServlet {
    private static final long serialVersionUID = 1L;

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp)
        throws IOException, ServletException {
      resp.setContentType("text/html;charset=UTF-8");
      resp.getWriter()
          .write(
              "<!DOCTYPE html><html><head><meta charset=utf-8><title>Products</title>"
                  + "</head><body><h1>Products</h1><ul>");
      resp.getWriter().flush(); // like a template engine: Gatewarden absorbs the flush
      if (failsNow(0.33)) {
        // Half a page was written already; without Gatewarden the client would get it truncated.
        throw new ServletException(
            new SQLTransientConnectionException(
                "HikariPool-1 - Connection is not available, request timed out after 3000ms (db-7.internal:5432)"));
      }
      resp.getWriter()
          .write(
              "<li>Espresso machine — 349 €</li><li>Grinder — 129 €</li>"
                  + "<li>Milk jug — 19 €</li></ul><p>Rendered at "
                  + java.time.LocalTime.now().withNano(0)
                  + "</p></body></html>");
    }
  }

  private final class Stock extends HttpServlet {
    private static final long serialVersionUID = 1L;

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      if (failsNow(0.25)) {
        resp.sendError(503, "inventory-service.internal:8443 unavailable");
        return;
      }
      resp.setContentType("application/json");
      resp.setHeader("Cache-Control", "max-age=5, stale-if-error=600");
      resp.getWriter().write("{\"espresso-machine\":12,\"grinder\":3,\"milk-jug\":40}");
    }
  }

  private final class Account extends HttpServlet {
    private static final long serialVersionUID = 1L;

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      if (failsNow(0.33)) {
        throw new IllegalStateException(new SQLTransientConnectionException("db-7.internal down"));
      }
      resp.setContentType("text/html;charset=UTF-8");
      resp.setHeader("Cache-Control", "private");
      resp.getWriter().write("<h1>Your account</h1><p>Hello, Ada.</p>");
    }
  }

  private final class Break extends HttpServlet {
    private static final long serialVersionUID = 1L;

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      broken.set("true".equals(req.getParameter("on")));
      resp.setHeader("Cache-Control", "no-store");
      resp.sendRedirect("/");
    }
  }

  /** Prints one line per request: what the client got and whether Gatewarden stepped in. */
  private static final class RequestLine implements Filter {
    @Override
    public void doFilter(
        jakarta.servlet.ServletRequest req,
        jakarta.servlet.ServletResponse res,
        jakarta.servlet.FilterChain chain)
        throws IOException, ServletException {
      chain.doFilter(req, res);
      HttpServletRequest r = (HttpServletRequest) req;
      HttpServletResponse s = (HttpServletResponse) res;
      if (r.getRequestURI().equals("/favicon.ico")) {
        return;
      }
      String what;
      if (s.getHeader("Cache-Status") != null) {
        what = "stale copy served (" + s.getHeader("Age") + " s old)";
      } else if (s.getStatus() >= 500) {
        what = "friendly error page served";
      } else {
        what = "the app's own response";
      }
      System.out.printf(
          "%-4s %-22s -> %d  %s%n", r.getMethod(), r.getRequestURI(), s.getStatus(), what);
    }
  }
}
