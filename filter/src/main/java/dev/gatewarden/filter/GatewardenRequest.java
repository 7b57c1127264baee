package dev.gatewarden.filter;

import jakarta.servlet.AsyncContext;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;

/**
 * Makes async requests write into the capture: a plain {@code startAsync()} would hand the app the
 * container's original response, so every async write would bypass the filter. Not thread-safe
 * beyond what the wrapped request is.
 */
final class GatewardenRequest extends HttpServletRequestWrapper {
  private final Exchange exchange;

  GatewardenRequest(HttpServletRequest request, Exchange exchange) {
    super(request);
    this.exchange = exchange;
  }

  @Override
  public AsyncContext startAsync() {
    return exchange.asyncStarted(super.startAsync(this, exchange.capture()));
  }

  @Override
  public AsyncContext startAsync(ServletRequest request, ServletResponse response) {
    return exchange.asyncStarted(super.startAsync(request, response));
  }

  @Override
  public AsyncContext getAsyncContext() {
    AsyncContext ours = exchange.asyncContext();
    return ours != null && isAsyncStarted() ? ours : super.getAsyncContext();
  }
}
