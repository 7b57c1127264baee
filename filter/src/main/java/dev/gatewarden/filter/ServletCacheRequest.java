package dev.gatewarden.filter;

import dev.gatewarden.cache.CacheRequest;
import jakarta.servlet.http.HttpServletRequest;
import java.util.Enumeration;

/** The stale cache's view of a servlet request; reads headers lazily, copies nothing. */
final class ServletCacheRequest implements CacheRequest {
  /** The servlet spec's request attribute for a TLS client's certificate chain. */
  private static final String CLIENT_CERTIFICATES = "jakarta.servlet.request.X509Certificate";

  private final HttpServletRequest request;
  private final String host;

  ServletCacheRequest(HttpServletRequest request, String canonicalHost) {
    this.request = request;
    this.host = canonicalHost != null ? canonicalHost : request.getServerName();
  }

  @Override
  public String method() {
    return request.getMethod();
  }

  @Override
  public String host() {
    return host;
  }

  @Override
  public String path() {
    return request.getRequestURI();
  }

  @Override
  public String query() {
    return request.getQueryString();
  }

  @Override
  public String header(String name) {
    if (request.getHeader(name) == null) {
      return null; // the common case, without an enumeration
    }
    Enumeration<String> values = request.getHeaders(name);
    if (values == null || !values.hasMoreElements()) {
      return null;
    }
    String first = values.nextElement();
    if (!values.hasMoreElements()) {
      return first;
    }
    StringBuilder sb = new StringBuilder(first);
    while (values.hasMoreElements()) {
      sb.append(", ").append(values.nextElement());
    }
    return sb.toString();
  }

  @Override
  public boolean hasSession() {
    return request.getSession(false) != null || request.getRequestedSessionId() != null;
  }

  @Override
  public boolean hasAuthenticatedUser() {
    return request.getUserPrincipal() != null
        || request.getRemoteUser() != null
        || request.getAttribute(CLIENT_CERTIFICATES) != null;
  }
}
