package dev.gatewarden.filter;

import dev.gatewarden.resilience.ConfigException;
import dev.gatewarden.resilience.Deadline;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.FilterConfig;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletRequestWrapper;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Keeps broken responses from reaching clients. For every request the filter picks a request id and
 * a {@link Route}, lets the app write into a bounded capture buffer, and then either sends the
 * app's response unchanged (storing good GET responses as stale copies) or, when the app failed —
 * an exception, a failure status (500, 502, 503, 504 by default) or a body that does not match its
 * {@code Content-Length} — sends a stale copy of the page or a friendly error page instead. Either
 * way the client receives one complete, well-formed response.
 *
 * <p>Register it first in the chain, for all paths, in {@code web.xml}:
 *
 * <pre>{@code
 * <filter>
 *   <filter-name>gatewarden</filter-name>
 *   <filter-class>dev.gatewarden.filter.GatewardenFilter</filter-class>
 *   <async-supported>true</async-supported>
 *   <init-param><param-name>cache.max-stale</param-name><param-value>10m</param-value></init-param>
 * </filter>
 * <filter-mapping>
 *   <filter-name>gatewarden</filter-name>
 *   <url-pattern>/*</url-pattern>
 * </filter-mapping>
 * }</pre>
 *
 * or in code with {@link #GatewardenFilter(GatewardenConfig)}. The settings are read and validated
 * in {@link #init}; a bad one stops start-up with a message naming the key, the value and what is
 * allowed. Thread-safe: one instance serves all requests.
 */
public final class GatewardenFilter implements Filter {
  /**
   * The init-param naming a properties file with more settings ({@code classpath:}, {@code file:}).
   */
  public static final String CONFIG_FILE_PARAM = "config-file";

  /** The MDC key under which the request id is put while the app runs. */
  public static final String MDC_REQUEST_ID = "requestId";

  private static final Logger LOG = LoggerFactory.getLogger(GatewardenFilter.class);

  private final GatewardenConfig given;
  private volatile FilterRuntime runtime;

  /**
   * For web.xml: the settings come from init-params (and the file named by {@code config-file}).
   */
  public GatewardenFilter() {
    this.given = null;
  }

  /** For code: these settings; init-params are ignored. */
  public GatewardenFilter(GatewardenConfig config) {
    this.given = java.util.Objects.requireNonNull(config, "config");
  }

  @Override
  public void init(FilterConfig filterConfig) throws ServletException {
    ClassLoader loader = filterConfig.getServletContext().getClassLoader();
    try {
      GatewardenConfig config = given != null ? given : fromInitParams(filterConfig, loader);
      this.runtime = new FilterRuntime(config, loader);
      LOG.info("Gatewarden filter started: {}", config);
    } catch (ConfigException e) {
      throw new ServletException(e.getMessage(), e);
    }
  }

  private static GatewardenConfig fromInitParams(FilterConfig fc, ClassLoader loader) {
    Map<String, String> settings = new LinkedHashMap<>();
    String file = fc.getInitParameter(CONFIG_FILE_PARAM);
    if (file != null) {
      settings.putAll(loadProperties(file.trim(), loader));
    }
    Enumeration<String> names = fc.getInitParameterNames();
    while (names.hasMoreElements()) {
      String name = names.nextElement();
      if (!name.equals(CONFIG_FILE_PARAM)) {
        settings.put(name, fc.getInitParameter(name));
      }
    }
    return GatewardenConfig.fromProperties(settings);
  }

  static Map<String, String> loadProperties(String location, ClassLoader loader) {
    int max = 1 << 20;
    byte[] bytes =
        Locations.read(CONFIG_FILE_PARAM, location, loader, max, "a readable properties file");
    if (bytes.length > max) {
      throw new ConfigException(CONFIG_FILE_PARAM, location, "a properties file of at most 1MiB");
    }
    Properties props = new Properties();
    try (Reader r =
        new InputStreamReader(new ByteArrayInputStream(bytes), StandardCharsets.UTF_8)) {
      props.load(r);
    } catch (IOException | IllegalArgumentException e) {
      throw new ConfigException(
          CONFIG_FILE_PARAM, location, "a properties file (" + e.getMessage() + ")", e);
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (String name : props.stringPropertyNames()) {
      out.put(name, props.getProperty(name));
    }
    return out;
  }

  @Override
  public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
      throws IOException, ServletException {
    FilterRuntime rt = runtime;
    if (rt == null
        || !(req instanceof HttpServletRequest)
        || !(res instanceof HttpServletResponse)
        || req.getDispatcherType() != DispatcherType.REQUEST
        || alreadyWrapped(req)) {
      chain.doFilter(req, res);
      return;
    }
    HttpServletRequest request = (HttpServletRequest) req;
    HttpServletResponse response = (HttpServletResponse) res;
    String requestId = RequestIds.choose(request, rt.config().requestIdHeader());
    Route route = rt.routes().match(pathWithinApp(request));
    Exchange exchange = new Exchange(rt, request, response, route, requestId);
    exchange.restoreOwnHeaders();
    GatewardenRequest wrapped = new GatewardenRequest(request, exchange);

    Throwable failure = null;
    MDC.put(MDC_REQUEST_ID, requestId);
    Deadline.Scope deadline =
        route.outboundDeadline() == null
            ? null
            : Deadline.after(route.outboundDeadline()).makeCurrent();
    try {
      chain.doFilter(wrapped, exchange.capture());
    } catch (Throwable t) { // every failure is answered below; VM errors are rethrown after
      failure = t;
    } finally {
      if (deadline != null) {
        deadline.close();
      }
      MDC.remove(MDC_REQUEST_ID);
    }

    if (failure == null && request.isAsyncStarted() && !exchange.isFinished()) {
      GatewardenAsyncContext async = exchange.asyncContext();
      exchange.finishLater(async != null ? async.real() : request.getAsyncContext());
      return;
    }
    Exchange.Finish finish;
    try {
      finish = exchange.finish(failure);
    } catch (RuntimeException bug) {
      finish = exchange.lastResort(bug);
      if (finish == Exchange.Finish.FAILED_WHILE_STREAMING) {
        throw bug;
      }
    }
    if (failure != null && request.isAsyncStarted() && finish == Exchange.Finish.SENT) {
      request.getAsyncContext().complete();
    }
    if (finish == Exchange.Finish.FAILED_WHILE_STREAMING) {
      rethrow(failure);
    }
    if (failure instanceof VirtualMachineError) {
      // Rethrown for the container to see, but only once the answer is out: a container that
      // finds the response uncommitted would replace it with its own page and status.
      if (finish == Exchange.Finish.SENT) {
        try {
          response.flushBuffer();
        } catch (IOException clientGone) {
          // the VM error is what matters here
        }
      }
      rethrow(failure);
    }
  }

  /** Whether this request already passes through a Gatewarden filter (registered twice, say). */
  private static boolean alreadyWrapped(ServletRequest req) {
    for (ServletRequest r = req; r instanceof ServletRequestWrapper; ) {
      if (r instanceof GatewardenRequest) {
        return true;
      }
      r = ((ServletRequestWrapper) r).getRequest();
    }
    return false;
  }

  private static String pathWithinApp(HttpServletRequest request) {
    String servletPath = request.getServletPath();
    String pathInfo = request.getPathInfo();
    if (servletPath == null || servletPath.isEmpty()) {
      return pathInfo == null ? "/" : pathInfo;
    }
    return pathInfo == null ? servletPath : servletPath + pathInfo;
  }

  private static void rethrow(Throwable t) throws IOException, ServletException {
    if (t instanceof IOException) {
      throw (IOException) t;
    }
    if (t instanceof ServletException) {
      throw (ServletException) t;
    }
    if (t instanceof RuntimeException) {
      throw (RuntimeException) t;
    }
    if (t instanceof Error) {
      throw (Error) t;
    }
    throw new ServletException(t);
  }

  @Override
  public void destroy() {
    runtime = null;
  }
}
