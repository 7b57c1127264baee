package dev.gatewarden.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.scan.StandardJarScanner;
import org.eclipse.jetty.ee10.webapp.WebAppContext;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.Test;

/**
 * Deploys {@code src/main/webapp/WEB-INF/web.xml} — the README's quick start — on real Jetty and
 * Tomcat, so the snippet is known to work as pasted.
 */
class WebXmlTest {
  private static final Path WEBAPP = Path.of("src/main/webapp").toAbsolutePath();
  private final HttpClient client = HttpClient.newHttpClient();

  @Test
  void webXmlWorksOnJetty() throws Exception {
    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    server.addConnector(connector);
    WebAppContext webapp = new WebAppContext(WEBAPP.toString(), "/");
    webapp.setParentLoaderPriority(true);
    webapp.setThrowUnavailableOnStartupException(true);
    server.setHandler(webapp);
    server.start();
    try {
      check(URI.create("http://127.0.0.1:" + connector.getLocalPort()));
    } finally {
      server.stop();
    }
  }

  @Test
  void webXmlWorksOnTomcat() throws Exception {
    Path base = Files.createTempDirectory("gatewarden-webxml");
    Tomcat tomcat = new Tomcat();
    tomcat.setBaseDir(base.toString());
    Connector connector = new Connector();
    connector.setPort(0);
    connector.setProperty("address", "127.0.0.1");
    tomcat.getService().addConnector(connector);
    tomcat.setConnector(connector);
    Context ctx = tomcat.addWebapp("", WEBAPP.toString());
    ((StandardJarScanner) ctx.getJarScanner()).setScanClassPath(false);
    tomcat.start();
    try {
      assertThat(ctx.getState().isAvailable()).isTrue();
      check(URI.create("http://127.0.0.1:" + connector.getLocalPort()));
    } finally {
      tomcat.stop();
      tomcat.destroy();
    }
  }

  private void check(URI base) throws Exception {
    HttpResponse<String> ok =
        client.send(
            HttpRequest.newBuilder(base.resolve("/hello")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(ok.body()).isEqualTo("hello");
    assertThat(ok.headers().firstValue("X-Request-Id")).isPresent();

    HttpResponse<String> failed =
        client.send(
            HttpRequest.newBuilder(base.resolve("/hello?fail=true"))
                .header("Accept", "text/html")
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(failed.statusCode())
        .isEqualTo(503); // an SQL failure: Retry-After and a friendly page
    assertThat(failed.headers().firstValue("Retry-After")).isPresent();
    assertThat(failed.body())
        .contains("temporarily unavailable")
        .doesNotContain("db-7")
        .doesNotContain("SQLException");
  }
}
