package dev.gatewarden.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The neutral model's views over a client's own request and response. */
class NeutralModelTest {
  private final AtomicInteger builds = new AtomicInteger();

  /** A view over header lines given as name, value, name, value, …, counting whole-map builds. */
  private HeaderView lines(String... lines) {
    return HeaderView.over(
        lines,
        (all, name) -> {
          HeaderView.Found found = new HeaderView.Found();
          for (int i = 0; i < all.length; i += 2) {
            if (all[i].equalsIgnoreCase(name)) {
              found.add(all[i + 1]);
            }
          }
          return found.values();
        },
        (all, line) -> {
          builds.incrementAndGet();
          for (int i = 0; i < all.length; i += 2) {
            line.accept(all[i], all[i + 1]);
          }
        });
  }

  @Test
  void headerViewLooksUpByNameInAnyCaseWithoutBuildingTheMap() {
    HeaderView view = lines("Link", "<a>", "Content-Type", "text/plain", "link", "<b>");
    assertThat(view.get("LINK")).containsExactly("<a>", "<b>");
    assertThat(view.get("content-type")).containsExactly("text/plain");
    assertThat(view.get("Retry-After")).isNull();
    assertThat(view.containsKey("CONTENT-TYPE")).isTrue();
    assertThat(view.get(42)).isNull();
    assertThat(HeaderView.sourceOf(view, String[].class))
        .containsExactly("Link", "<a>", "Content-Type", "text/plain", "link", "<b>");
    assertThat((Object) HeaderView.sourceOf(view, Integer.class)).isNull();
    assertThat(HeaderView.sourceOf(Map.of(), String[].class)).isNull();
    assertThat(builds).as("lookups read the lines, not a map").hasValue(0);
  }

  @Test
  void headerViewIteratesAsOneCaseInsensitiveMapBuiltOnce() {
    HeaderView view = lines("Link", "<a>", "Content-Type", "text/plain", "link", "<b>");
    assertThat(view)
        .isEqualTo(Map.of("Content-Type", List.of("text/plain"), "Link", List.of("<a>", "<b>")));
    assertThat(view.size()).isEqualTo(2);
    assertThat(builds).hasValue(1);
    assertThatThrownBy(() -> view.put("X", List.of("y")))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> view.entrySet().clear())
        .isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> view.get("Link").add("<c>"))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void aResponseOverAViewIsReadLikeAnyOther() {
    ClientResponse r =
        ClientResponse.wrap(503, lines("retry-after", "3", "Retry-After", "4"), null);
    assertThat(r.header("Retry-After")).isEqualTo("3");
    assertThat(r.headers().get("RETRY-AFTER")).containsExactly("3", "4");
    assertThat(r.bodyLength()).isZero();
  }

  @Test
  void targetMakesItsUriOnlyWhenAskedAndOnce() {
    AtomicInteger parses = new AtomicInteger();
    ClientRequest.Target t =
        new ClientRequest.Target(
            "HTTP",
            "Example.COM",
            8080,
            "/a%20b",
            "q=1",
            () -> {
              parses.incrementAndGet();
              return URI.create("http://Example.COM:8080/a%20b?q=1");
            });
    ClientRequest request = ClientRequest.wrap("get", t, lines(), null);
    assertThat(request.method()).isEqualTo("GET");
    assertThat(t.authorityKey()).isEqualTo("example.com:8080");
    assertThat(t.rawPath).isEqualTo("/a%20b");
    assertThat(parses).hasValue(0);
    assertThat(request.uri()).isEqualTo(URI.create("http://Example.COM:8080/a%20b?q=1"));
    assertThat(request.uri()).isSameAs(request.uri());
    assertThat(parses).hasValue(1);
  }

  @Test
  void targetKeysOneOriginAlikeWhateverTheClientGaveForIt() {
    // OkHttp gives every port and IPv6 hosts without brackets; java.net.URI gives the port only
    // when written and IPv6 hosts in brackets: a shared stale store must see one origin
    assertThat(target("http", "a.example", 80).authorityKey())
        .isEqualTo(ClientRequest.Target.of(URI.create("http://a.example/x")).authorityKey())
        .isEqualTo(ClientRequest.Target.of(URI.create("http://A.example:80/x")).authorityKey())
        .isEqualTo("a.example");
    assertThat(target("https", "a.example", 443).authorityKey()).isEqualTo("a.example");
    assertThat(target("https", "a.example", 80).authorityKey()).isEqualTo("a.example:80");
    assertThat(target("http", "::1", 8080).authorityKey())
        .isEqualTo(ClientRequest.Target.of(URI.create("http://[::1]:8080/")).authorityKey())
        .isEqualTo("[::1]:8080");
    assertThat(ClientRequest.Target.of(URI.create("http://h")).rawPath).isEqualTo("/");
    // an authority URI cannot split is kept whole, without user info
    ClientRequest.Target registry = ClientRequest.Target.of(URI.create("http://u:p@svc_a:8080/x"));
    assertThat(registry.authorityKey()).isEqualTo("svc_a:8080");
    assertThat(registry.hasHost()).isTrue();
    assertThat(ClientRequest.Target.of(URI.create("file:///tmp/x")).hasHost()).isFalse();
  }

  @Test
  void targetComparesItsKeyWithoutBuildingItExactlyAsTheKeyWouldCompare() {
    String[] keys = {
      "a.example",
      "a.example:80",
      "a.example:8080",
      "a.example:808",
      "a.example:80800",
      "a.example:080",
      "a.example:0",
      "a.example:",
      "a.example:8o",
      "a.exampl",
      "a.example.org",
      "b.example:8080",
      "[::1]:8080",
      "[::1]",
      "svc_a:8080",
      "",
      ":8080",
      "A.Example:8080", // keys are lower case; these check that no answer relies on it
      "A",
      "A:8080",
      "a.example:100000",
      "a.example:2147483647",
      "a.example:99999999999",
      "Ä.example"
    };
    List<ClientRequest.Target> targets =
        List.of(
            target("http", "a.example", 80),
            target("http", "a.example", 8080),
            target("https", "a.example", 80),
            target("https", "A.Example", 8080), // not lower case: compared through the whole key
            target("http", "::1", 8080),
            target("http", "a.example", 0),
            target("http", "a.example", 100000), // java.net.URI does not bound a port
            target("http", "a.example", Integer.MAX_VALUE),
            target("http", "A", 8080),
            target("http", "Ä.example", -1),
            ClientRequest.Target.of(URI.create("http://a.example/x")),
            ClientRequest.Target.of(URI.create("http://u:p@svc_a:8080/x")),
            ClientRequest.Target.of("http", null, 8080, "/"),
            ClientRequest.Target.of("http", null, -1, "/"));
    for (ClientRequest.Target t : targets) {
      for (String key : keys) {
        ClientRequest.Target fresh = copy(t); // the key not yet built, as on the store's path
        assertThat(fresh.hasAuthorityKey(key))
            .as("%s vs %s", t.authorityKey(), key)
            .isEqualTo(t.authorityKey().equals(key));
        assertThat(t.hasAuthorityKey(key)).isEqualTo(t.authorityKey().equals(key));
      }
    }
  }

  private static ClientRequest.Target copy(ClientRequest.Target t) {
    return new ClientRequest.Target(t.scheme, t.host, t.port, t.rawPath, t.rawQuery, null);
  }

  @Test
  void targetFromPartsSplitsTheQueryAndMakesAUriOrAtLeastTheOrigin() {
    ClientRequest.Target t = ClientRequest.Target.of("http", "::1", 8080, "/a/b?x=1&y=2");
    assertThat(t.rawPath).isEqualTo("/a/b");
    assertThat(t.rawQuery).isEqualTo("x=1&y=2");
    assertThat(t.uri()).isEqualTo(URI.create("http://[::1]:8080/a/b?x=1&y=2"));
    assertThat(t.logAddress()).isEqualTo("http://[::1]:8080/a/b");
    ClientRequest.Target bad = ClientRequest.Target.of("http", "h", -1, "/q={x}\n");
    assertThat(bad.uri()).isEqualTo(URI.create("http://h/"));
    assertThat(bad.logAddress()).doesNotContain("\n");
  }

  private static ClientRequest.Target target(String scheme, String host, int port) {
    return new ClientRequest.Target(scheme, host, port, "/x", null, () -> null);
  }
}
