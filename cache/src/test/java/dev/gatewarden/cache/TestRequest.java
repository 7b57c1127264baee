package dev.gatewarden.cache;

import java.util.Map;
import java.util.TreeMap;

/** A CacheRequest over plain values. */
final class TestRequest implements CacheRequest {
  private final String method;
  private final String path;
  private final String query;
  private final Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
  private boolean session;
  private boolean authenticated;
  private String host = "shop.example";

  TestRequest(String method, String path, String query) {
    this.method = method;
    this.path = path;
    this.query = query;
  }

  static TestRequest get(String path) {
    return new TestRequest("GET", path, null);
  }

  TestRequest header(String name, String value) {
    headers.put(name, value);
    return this;
  }

  TestRequest withSession() {
    session = true;
    return this;
  }

  TestRequest withAuthenticatedUser() {
    authenticated = true;
    return this;
  }

  TestRequest host(String host) {
    this.host = host;
    return this;
  }

  TestRequest method(String m) {
    TestRequest r = new TestRequest(m, path, query);
    r.headers.putAll(headers);
    r.session = session;
    r.host = host;
    return r;
  }

  @Override
  public String method() {
    return method;
  }

  @Override
  public String host() {
    return host;
  }

  @Override
  public String path() {
    return path;
  }

  @Override
  public String query() {
    return query;
  }

  @Override
  public String header(String name) {
    return headers.get(name);
  }

  @Override
  public boolean hasAuthenticatedUser() {
    return authenticated;
  }

  @Override
  public boolean hasSession() {
    return session;
  }
}
