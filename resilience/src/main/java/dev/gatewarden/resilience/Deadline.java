package dev.gatewarden.resilience;

import java.time.Duration;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * The moment by which a piece of work must be done, so that a caller further out (a reverse proxy,
 * an inbound request) still gets an answer in time. Outbound calls made on a thread that has a
 * current deadline cap their total timeout by it, and fail fast without calling when too little
 * time is left.
 *
 * <p>Immutable and thread-safe. The current deadline is per thread, like a logging MDC:
 *
 * <pre>{@code
 * try (Deadline.Scope scope = Deadline.after(Duration.ofSeconds(25)).makeCurrent()) {
 *   inventory.send(request, BodyHandlers.ofString());   // at most what is left of 25 s
 * }
 * }</pre>
 */
public final class Deadline {
  private static final ThreadLocal<Deadline> CURRENT = new ThreadLocal<>();

  private final long deadlineNanos;
  private final LongSupplier nanoTime;

  private Deadline(long deadlineNanos, LongSupplier nanoTime) {
    this.deadlineNanos = deadlineNanos;
    this.nanoTime = nanoTime;
  }

  /** A deadline this long from now, on {@link System#nanoTime()}. */
  public static Deadline after(Duration timeout) {
    return after(timeout, System::nanoTime);
  }

  /** A deadline this long from now on the given nanosecond clock (tests use a fake one). */
  public static Deadline after(Duration timeout, LongSupplier nanoTime) {
    return after(nanoTime.getAsLong(), timeout, nanoTime);
  }

  /** A deadline {@code timeout} after {@code now}, a reading of {@code nanoTime} just taken. */
  static Deadline after(long now, Duration timeout, LongSupplier nanoTime) {
    long t = timeout.isNegative() ? 0 : saturatedNanos(timeout);
    long at = now + t;
    return new Deadline(at < now ? Long.MAX_VALUE : at, nanoTime);
  }

  /** The deadline current on this thread, if any. */
  public static Optional<Deadline> current() {
    return Optional.ofNullable(currentOrNull());
  }

  /** The deadline current on this thread, or {@code null}: what the engine asks on every call. */
  static Deadline currentOrNull() {
    return CURRENT.get();
  }

  /** The time left; zero once passed. */
  public Duration remaining() {
    long left = deadlineNanos - nanoTime.getAsLong();
    return left <= 0 ? Duration.ZERO : Duration.ofNanos(left);
  }

  /** The nanoseconds left at {@code now} (a reading of this deadline's clock); 0 once passed. */
  long remainingNanos(long now) {
    return Math.max(0, deadlineNanos - now);
  }

  /** Whether the deadline has passed. */
  public boolean isExpired() {
    return deadlineNanos - nanoTime.getAsLong() <= 0;
  }

  /** The earlier of this deadline and one {@code timeout} from now. */
  public Deadline min(Duration timeout) {
    Deadline other = after(timeout, nanoTime);
    return other.deadlineNanos - deadlineNanos < 0 ? other : this;
  }

  /**
   * Makes this the current deadline on this thread until the scope is closed, which restores the
   * previous one. Close it on the same thread.
   */
  public Scope makeCurrent() {
    Deadline previous = CURRENT.get();
    CURRENT.set(this);
    return () -> {
      if (previous == null) {
        CURRENT.remove();
      } else {
        CURRENT.set(previous);
      }
    };
  }

  /** Restores the previous deadline when closed. */
  @FunctionalInterface
  public interface Scope extends AutoCloseable {
    @Override
    void close();
  }

  /** {@code d} in nanoseconds, capped at about 146 years instead of overflowing. */
  static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE / 2;
    }
  }

  @Override
  public String toString() {
    return "Deadline{remaining=" + remaining() + '}';
  }
}
