package dev.gatewarden.resilience;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Ends one attempt that outlives its time, for adapters whose client cannot bound a whole exchange
 * (headers and every body byte) by itself: most clients' timeouts apply per read, so a body that
 * trickles one byte at a time would never time out.
 *
 * <p>{@link #arm} schedules an abort action (interrupt the sending thread, close the connection)
 * for when the attempt's time is up; the adapter calls {@link #disarm()} on every path once the
 * attempt has ended, and learns from it whether the abort happened — then the attempt's failure is
 * a {@code TIMEOUT}, whatever exception the abort caused. An interrupt the watchdog caused is
 * cleared by {@code disarm()}, so none leaks to the caller.
 *
 * <p>One daemon thread serves every watchdog; it only runs the abort actions, which must be quick
 * and must not block. Cancelled alarms leave its queue at once, so a busy client does not pile up
 * alarms for calls that already finished. Thread-safe.
 */
final class AttemptWatchdog {
  private static final ScheduledThreadPoolExecutor ALARMS = alarms();

  private final Thread thread;
  private final boolean interrupt;
  private final Runnable abort;
  private final ScheduledFuture<?> alarm;
  private boolean done;
  private boolean fired;

  private AttemptWatchdog(Duration timeout, boolean interrupt, Runnable abort) {
    this.thread = Thread.currentThread();
    this.interrupt = interrupt;
    this.abort = abort;
    this.alarm = ALARMS.schedule(this::fire, timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Interrupts the current thread when {@code timeout} has passed, unless disarmed first. */
  static AttemptWatchdog interrupting(Duration timeout) {
    return new AttemptWatchdog(timeout, true, () -> {});
  }

  /**
   * Runs {@code abort} and then interrupts the current thread when {@code timeout} has passed,
   * unless disarmed first: for a thread blocked where an interrupt alone is swallowed, but wakes it
   * to find what {@code abort} closed.
   */
  static AttemptWatchdog interrupting(Duration timeout, Runnable abort) {
    return new AttemptWatchdog(timeout, true, abort);
  }

  /**
   * Runs {@code abort} (on the watchdog's thread) when {@code timeout} has passed, unless disarmed
   * first. The action must not block: close a socket, cancel an exchange.
   */
  static AttemptWatchdog aborting(Duration timeout, Runnable abort) {
    return new AttemptWatchdog(timeout, false, abort);
  }

  private synchronized void fire() {
    if (done) {
      return;
    }
    fired = true;
    try {
      abort.run();
    } finally {
      if (interrupt) {
        thread.interrupt();
      }
    }
  }

  /**
   * Ends the watch (idempotent) and returns whether the attempt's time ran out first. Call it on
   * the thread that armed the watchdog.
   */
  synchronized boolean disarm() {
    if (!done) {
      done = true;
      alarm.cancel(false);
      if (fired && interrupt) {
        Thread.interrupted(); // the interrupt was ours, not the caller's
      }
    }
    return fired;
  }

  private static ScheduledThreadPoolExecutor alarms() {
    ScheduledThreadPoolExecutor s =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "gatewarden-attempt-watchdog");
              t.setDaemon(true);
              return t;
            });
    s.setRemoveOnCancelPolicy(true);
    return s;
  }
}
