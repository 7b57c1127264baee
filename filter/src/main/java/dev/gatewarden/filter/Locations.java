package dev.gatewarden.filter;

import dev.gatewarden.resilience.ConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads a configured resource — {@code classpath:/x}, {@code file:/x} or a plain file path — for
 * the settings that name one (the {@code config-file}, the error-page templates), with start-up
 * errors that name the key, the location and what went wrong. Stateless.
 */
final class Locations {
  static final String FORMS = "classpath:/…, file:/… or a file path";

  private Locations() {}

  /**
   * Returns the resource's bytes, at most {@code maxBytes + 1} of them (so a caller can tell that
   * it is too large).
   *
   * @param what what the resource should be, for messages, e.g. "a readable properties file"
   * @param loader resolves {@code classpath:} locations; {@code null} means this library's loader
   * @throws ConfigException naming {@code key} and {@code location} when it cannot be read
   */
  static byte[] read(String key, String location, ClassLoader loader, int maxBytes, String what) {
    String allowed = what + " at " + FORMS;
    if (location == null || location.isBlank()) {
      throw new ConfigException(key, location, allowed);
    }
    if (location.regionMatches(true, 0, "classpath:", 0, "classpath:".length())) {
      String resource = location.substring("classpath:".length()).replaceFirst("^/+", "");
      ClassLoader cl = loader != null ? loader : Locations.class.getClassLoader();
      try (InputStream in = resource.isEmpty() ? null : cl.getResourceAsStream(resource)) {
        if (in == null) {
          throw new ConfigException(
              key, location, allowed + "; there is no such resource on the class path");
        }
        return in.readNBytes(maxBytes + 1);
      } catch (IOException e) {
        throw new ConfigException(key, location, allowed + "; reading it failed: " + e, e);
      }
    }
    Path file = path(key, location, allowed);
    try {
      if (Files.isDirectory(file)) {
        throw new ConfigException(key, location, allowed + "; this is a directory");
      }
      try (InputStream in = Files.newInputStream(file)) {
        return in.readNBytes(maxBytes + 1);
      }
    } catch (NoSuchFileException e) {
      throw new ConfigException(
          key, location, allowed + "; there is no file " + file.toAbsolutePath(), e);
    } catch (AccessDeniedException e) {
      throw new ConfigException(
          key, location, allowed + "; " + file.toAbsolutePath() + " is not readable", e);
    } catch (IOException e) {
      throw new ConfigException(key, location, allowed + "; reading it failed: " + e, e);
    }
  }

  private static Path path(String key, String location, String allowed) {
    try {
      if (location.regionMatches(true, 0, "file:", 0, "file:".length())) {
        try {
          return Path.of(URI.create(location));
        } catch (IllegalArgumentException e) {
          // "file:relative/path" or unencoded characters: take the rest as a plain path
          return Path.of(location.substring("file:".length()));
        }
      }
      return Path.of(location);
    } catch (InvalidPathException e) {
      throw new ConfigException(key, location, allowed + "; this is not a valid path", e);
    }
  }
}
