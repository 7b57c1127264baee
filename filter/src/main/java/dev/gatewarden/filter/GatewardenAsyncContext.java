package dev.gatewarden.filter;

import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The app's view of an async request: {@link #complete()} first sends the captured response (or a
 * fallback), then completes. A {@code dispatch} cannot be protected (the target writes after our
 * filter returned), so it switches the capture to pass-through first. Thread-safe as the
 * container's context is; {@code complete()} may race with timeouts and the exchange decides once.
 */
final class GatewardenAsyncContext implements AsyncContext {
  private final AsyncContext real;
  private final Exchange exchange;

  GatewardenAsyncContext(AsyncContext real, Exchange exchange) {
    this.real = real;
    this.exchange = exchange;
  }

  AsyncContext real() {
    return real;
  }

  @Override
  public void complete() {
    try {
      exchange.finishAsync(null);
    } catch (IOException clientGone) {
      // The client went away while the response was written; completing below still releases it.
    } finally {
      real.complete();
    }
  }

  @Override
  public void dispatch() {
    passThrough();
    real.dispatch();
  }

  @Override
  public void dispatch(String path) {
    passThrough();
    real.dispatch(path);
  }

  @Override
  public void dispatch(ServletContext context, String path) {
    passThrough();
    real.dispatch(context, path);
  }

  private void passThrough() {
    try {
      exchange.capture().passThrough("AsyncContext.dispatch()");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public ServletRequest getRequest() {
    return real.getRequest();
  }

  @Override
  public ServletResponse getResponse() {
    return real.getResponse();
  }

  @Override
  public boolean hasOriginalRequestAndResponse() {
    return real.hasOriginalRequestAndResponse();
  }

  @Override
  public void start(Runnable run) {
    real.start(run);
  }

  @Override
  public void addListener(AsyncListener listener) {
    real.addListener(listener);
  }

  @Override
  public void addListener(
      AsyncListener listener, ServletRequest servletRequest, ServletResponse servletResponse) {
    real.addListener(listener, servletRequest, servletResponse);
  }

  @Override
  public <T extends AsyncListener> T createListener(Class<T> clazz) throws ServletException {
    return real.createListener(clazz);
  }

  @Override
  public void setTimeout(long timeout) {
    real.setTimeout(timeout);
  }

  @Override
  public long getTimeout() {
    return real.getTimeout();
  }
}
