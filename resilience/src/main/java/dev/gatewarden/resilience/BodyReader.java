package dev.gatewarden.resilience;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Reads a response body whole for an adapter. With a declared length it reads into one array of
 * that length, instead of {@link InputStream#readAllBytes()}'s 8 KB or 16 KB chunks joined into a
 * copy (for a 1 KB body that was most of what an adapter allocated per call). Stateless.
 */
final class BodyReader {
  /**
   * The largest declared length allocated before its bytes arrive: a lying header costs no more.
   */
  private static final long PREALLOCATE = 64 * 1024;

  private BodyReader() {}

  /**
   * The stream's bytes to its end, like {@link InputStream#readAllBytes()}, read in place when
   * {@code declaredLength} (negative when unknown) is the body's length. A body shorter or longer
   * than declared is returned as it came: whether that is an error is the caller's decision.
   */
  static byte[] readAll(InputStream in, long declaredLength) throws IOException {
    if (declaredLength < 0 || declaredLength > PREALLOCATE) {
      return in.readAllBytes();
    }
    byte[] bytes = new byte[(int) declaredLength];
    int read = in.readNBytes(bytes, 0, bytes.length);
    if (read < bytes.length) {
      return Arrays.copyOf(bytes, read);
    }
    int next = in.read();
    if (next < 0) {
      return bytes; // the usual case: the declared length was the whole body
    }
    // more than declared (a wrapper that decodes the body, for one): read the rest, cut nothing
    ByteArrayOutputStream all = new ByteArrayOutputStream(bytes.length * 2);
    all.write(bytes);
    all.write(next);
    in.transferTo(all);
    return all.toByteArray();
  }
}
