package dev.gatewarden.cache;

import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * An unmodifiable header map: names are looked up case-insensitively and kept in the order first
 * given, with their first spelling; each name's values keep their order. Headers given under two
 * spellings ({@code Vary} and {@code vary}) are merged. Immutable and thread-safe.
 */
final class HeaderMap extends AbstractMap<String, List<String>> {

  private final Map<String, Map.Entry<String, List<String>>> byLowerName;
  private final Set<Map.Entry<String, List<String>>> entries;

  private HeaderMap(LinkedHashMap<String, Map.Entry<String, List<String>>> byLowerName) {
    this.byLowerName = byLowerName;
    this.entries = Collections.unmodifiableSet(new LinkedHashSet<>(byLowerName.values()));
  }

  /** Copies {@code headers}, skipping {@code null} names and values. */
  static HeaderMap copyOf(Map<String, List<String>> headers) {
    LinkedHashMap<String, String> spelling = new LinkedHashMap<>();
    LinkedHashMap<String, List<String>> values = new LinkedHashMap<>();
    for (Map.Entry<String, List<String>> e : headers.entrySet()) {
      String name = e.getKey();
      if (name == null || e.getValue() == null) {
        continue;
      }
      String lower = lower(name);
      spelling.putIfAbsent(lower, name);
      List<String> list = values.computeIfAbsent(lower, k -> new ArrayList<>());
      for (String v : e.getValue()) {
        if (v != null) {
          list.add(v);
        }
      }
    }
    LinkedHashMap<String, Map.Entry<String, List<String>>> out = new LinkedHashMap<>();
    values.forEach(
        (lower, list) ->
            out.put(lower, new SimpleImmutableEntry<>(spelling.get(lower), List.copyOf(list))));
    return new HeaderMap(out);
  }

  /**
   * One header's values from any map of headers, by name in any case, without copying the map (the
   * values of names that differ only in case are joined in order); {@code null} when absent.
   */
  static List<String> lookup(Map<String, List<String>> headers, String name) {
    List<String> found = null;
    boolean shared = true; // found is still one of the map's own lists
    for (Map.Entry<String, List<String>> e : headers.entrySet()) {
      if (e.getKey() == null || e.getValue() == null || !e.getKey().equalsIgnoreCase(name)) {
        continue;
      }
      if (found == null) {
        found = e.getValue();
      } else {
        if (shared) {
          found = new ArrayList<>(found);
          shared = false;
        }
        found.addAll(e.getValue());
      }
    }
    return found;
  }

  /** This map without the headers named in {@code lowerCaseNames}. */
  HeaderMap without(Set<String> lowerCaseNames) {
    LinkedHashMap<String, Map.Entry<String, List<String>>> out = new LinkedHashMap<>(byLowerName);
    out.keySet().removeAll(lowerCaseNames);
    return out.size() == byLowerName.size() ? this : new HeaderMap(out);
  }

  @Override
  public List<String> get(Object name) {
    Map.Entry<String, List<String>> e =
        name instanceof String ? byLowerName.get(lower((String) name)) : null;
    return e == null ? null : e.getValue();
  }

  @Override
  public boolean containsKey(Object name) {
    return name instanceof String && byLowerName.containsKey(lower((String) name));
  }

  @Override
  public int size() {
    return byLowerName.size();
  }

  @Override
  public Set<Map.Entry<String, List<String>>> entrySet() {
    return entries;
  }

  private static String lower(String name) {
    return name.toLowerCase(Locale.ROOT);
  }
}
