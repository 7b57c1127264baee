package dev.gatewarden.filter;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.Servlet;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.catalina.Context;
import org.apache.catalina.Wrapper;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.descriptor.web.FilterDef;
import org.apache.tomcat.util.descriptor.web.FilterMap;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * The servlet containers every integration test runs on: embedded Jetty 12 (ee10) and Tomcat 11, on
 * 127.0.0.1 and an ephemeral port. Use as a {@code @ParameterizedTest @EnumSource(Container.class)}
 * argument:
 *
 * <pre>{@code
 * try (Running server = container.start(new Deployment()
 *     .filter(new GatewardenFilter(config))
 *     .servlet("/page", (HttpServlet) ...))) {
 *   HttpResponse<String> r = Http.get(server.uri("/page"));
 * }
 * }</pre>
 */
public enum Container {
  JETTY {
    @Override
    public Running start(Deployment d) throws Exception {
      Server server = new Server();
      ServerConnector connector = new ServerConnector(server);
      connector.setHost("127.0.0.1");
      connector.setPort(0);
      server.addConnector(connector);
      ServletContextHandler context = new ServletContextHandler(ServletContextHandler.SESSIONS);
      context.setContextPath(d.contextPath.isEmpty() ? "/" : d.contextPath);
      if (d.filter != null) {
        FilterHolder fh = new FilterHolder(d.filter);
        fh.setName("gatewarden");
        fh.setAsyncSupported(true);
        fh.setInitParameters(d.initParams);
        context.addFilter(fh, "/*", EnumSet.of(DispatcherType.REQUEST));
      }
      for (Map.Entry<String, Servlet> s : d.servlets.entrySet()) {
        ServletHolder sh = new ServletHolder(s.getValue());
        sh.setAsyncSupported(true);
        context.addServlet(sh, s.getKey());
      }
      server.setHandler(context);
      try {
        server.start();
      } catch (Exception e) {
        server.stop();
        throw e;
      }
      if (!context.isAvailable()) {
        server.stop();
        throw new IllegalStateException("context failed to start");
      }
      int port = connector.getLocalPort();
      return new Running(URI.create("http://127.0.0.1:" + port + d.contextPath), server::stop);
    }
  },
  TOMCAT {
    @Override
    public Running start(Deployment d) throws Exception {
      Path base = Files.createTempDirectory("gatewarden-tomcat");
      Tomcat tomcat = new Tomcat();
      tomcat.setBaseDir(base.toString());
      Connector connector = new Connector();
      connector.setPort(0);
      connector.setProperty("address", "127.0.0.1");
      tomcat.getService().addConnector(connector);
      tomcat.setConnector(connector);
      Context context = tomcat.addContext(d.contextPath, base.toString());
      if (d.filter != null) {
        FilterDef fd = new FilterDef();
        fd.setFilterName("gatewarden");
        fd.setFilter(d.filter);
        fd.setAsyncSupported("true");
        d.initParams.forEach(fd::addInitParameter);
        context.addFilterDef(fd);
        FilterMap fm = new FilterMap();
        fm.setFilterName("gatewarden");
        fm.addURLPattern("/*");
        context.addFilterMap(fm);
      }
      int i = 0;
      for (Map.Entry<String, Servlet> s : d.servlets.entrySet()) {
        String name = "servlet" + i++;
        Wrapper w = Tomcat.addServlet(context, name, s.getValue());
        w.setAsyncSupported(true);
        context.addServletMapping(s.getKey(), name);
      }
      tomcat.start();
      if (!context.getState().isAvailable()) {
        tomcat.stop();
        tomcat.destroy();
        throw new IllegalStateException("context failed to start: " + context.getState());
      }
      int port = connector.getLocalPort();
      return new Running(
          URI.create("http://127.0.0.1:" + port + d.contextPath),
          () -> {
            tomcat.stop();
            tomcat.destroy();
          });
    }
  };

  /** Starts a server with this deployment; close the result to stop it. */
  public abstract Running start(Deployment deployment) throws Exception;

  /** What to deploy: one filter (optional) and servlets by mapping. Not thread-safe. */
  public static final class Deployment {
    final Map<String, Servlet> servlets = new LinkedHashMap<>();
    final Map<String, String> initParams = new LinkedHashMap<>();
    Filter filter;
    String contextPath = "";

    /** Maps a servlet, e.g. {@code "/page"} or {@code "/api/*"}. */
    public Deployment servlet(String mapping, Servlet servlet) {
      servlets.put(mapping, servlet);
      return this;
    }

    /** The filter, mapped to {@code /*} for REQUEST dispatches. */
    public Deployment filter(Filter filter) {
      this.filter = filter;
      return this;
    }

    /** An init-param of the filter. */
    public Deployment initParam(String name, String value) {
      initParams.put(name, value);
      return this;
    }

    /** Deploys under a context path such as {@code "/shop"} (default: root). */
    public Deployment contextPath(String contextPath) {
      this.contextPath = contextPath;
      return this;
    }
  }

  /** A started server. */
  public static final class Running implements AutoCloseable {
    private final URI base;
    private final Stopper stopper;
    private final List<AutoCloseable> extras = new ArrayList<>();

    Running(URI base, Stopper stopper) {
      this.base = base;
      this.stopper = stopper;
    }

    /** The absolute URI of a path within the context, e.g. {@code uri("/page?x=1")}. */
    public URI uri(String pathAndQuery) {
      return URI.create(base + pathAndQuery);
    }

    /** The port the server listens on. */
    public int port() {
      return base.getPort();
    }

    /** Registers something to close before the server stops. */
    public void closeWithServer(AutoCloseable c) {
      extras.add(c);
    }

    @Override
    public void close() {
      try {
        for (AutoCloseable c : extras) {
          c.close();
        }
        stopper.stop();
      } catch (Exception e) {
        throw new IllegalStateException("could not stop the server", e);
      }
    }
  }

  @FunctionalInterface
  interface Stopper {
    void stop() throws Exception;
  }
}
