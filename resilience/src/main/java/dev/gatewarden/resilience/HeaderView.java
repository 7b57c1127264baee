package dev.gatewarden.resilience;

import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;

/**
 * A client's own headers seen as the neutral model's header map without copying them on every call:
 * {@link #get} looks one header up (case-insensitive) in the client's structure, and only iterating
 * builds the whole map, once. Most calls read no header or one ({@code Retry-After}); a copy per
 * call into a map was a measurable part of an adapter's cost. An adapter that gets its own view
 * back (the upstream's response, not a stale copy) hands the caller the client's headers as they
 * were received ({@link #sourceOf}).
 *
 * <p>Unmodifiable. The source is the client's headers for one call: an immutable snapshot (Apache,
 * OkHttp, the JDK client; then a view is thread-safe), or Spring's request headers, to which an
 * interceptor after the adapter may still add: {@link #get} reads them as they are now, iterating
 * reads them once. Nothing keeps a view beyond its call (the stale store copies).
 */
final class HeaderView extends AbstractMap<String, List<String>> {
  private final Object source;
  private final BiFunction<Object, String, List<String>> values;
  private final BiConsumer<Object, BiConsumer<String, String>> lines;
  private volatile Map<String, List<String>> all;

  private HeaderView(
      Object source,
      BiFunction<Object, String, List<String>> values,
      BiConsumer<Object, BiConsumer<String, String>> lines) {
    this.source = source;
    this.values = values;
    this.lines = lines;
  }

  /**
   * A view over a client's headers.
   *
   * @param values the values of one header by name in any case, in order (empty or {@code null}
   *     when absent; unmodifiable)
   * @param lines gives every header line, name and value, in order
   */
  @SuppressWarnings("unchecked") // the functions are only ever given this view's source, a T
  static <T> HeaderView over(
      T source,
      BiFunction<T, String, List<String>> values,
      BiConsumer<T, BiConsumer<String, String>> lines) {
    // the functions are kept as they are (adapters pass constant ones), not bound to the source
    // in new lambdas: two allocations fewer per view, and a call has two views
    return new HeaderView(
        source,
        (BiFunction<Object, String, List<String>>) (BiFunction<?, String, List<String>>) values,
        (BiConsumer<Object, BiConsumer<String, String>>)
            (BiConsumer<?, BiConsumer<String, String>>) lines);
  }

  /** The client's headers behind {@code headers} if it is a view over a {@code type}, else null. */
  static <T> T sourceOf(Map<String, List<String>> headers, Class<T> type) {
    return headers instanceof HeaderView && type.isInstance(((HeaderView) headers).source)
        ? type.cast(((HeaderView) headers).source)
        : null;
  }

  @Override
  public List<String> get(Object name) {
    if (!(name instanceof String)) {
      return null;
    }
    List<String> v = values.apply(source, (String) name);
    return v == null || v.isEmpty() ? null : v;
  }

  @Override
  public boolean containsKey(Object name) {
    return get(name) != null;
  }

  @Override
  public Set<Entry<String, List<String>>> entrySet() {
    return whole().entrySet();
  }

  @Override
  public int size() {
    return whole().size();
  }

  /** The headers as one case-insensitive map, built on first use (a racing build is harmless). */
  private Map<String, List<String>> whole() {
    Map<String, List<String>> m = all;
    if (m == null) {
      TreeMap<String, List<String>> t = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
      lines.accept(
          source,
          (name, value) -> {
            if (name != null && value != null) {
              t.computeIfAbsent(name, k -> new ArrayList<>(1)).add(value);
            }
          });
      t.replaceAll((name, values) -> List.copyOf(values));
      m = Collections.unmodifiableMap(t);
      all = m;
    }
    return m;
  }

  /** The values of a lookup by linear scan: {@code null}, one value, or several in order. */
  static final class Found {
    private String first;
    private List<String> more;

    void add(String value) {
      if (first == null) {
        first = value;
      } else {
        if (more == null) {
          more = new ArrayList<>(4);
          more.add(first);
        }
        more.add(value);
      }
    }

    List<String> values() {
      return first == null ? null : more == null ? List.of(first) : List.copyOf(more);
    }
  }
}
