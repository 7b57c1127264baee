package dev.gatewarden.resilience;

import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Ends one attempt that outlives its time, for adapters whose client cannot bound a whole exchange
 * (headers and every body byte) by itself: most clients' timeouts apply per read, so a body that
 * trickles one byte at a time would never time out.
 *
 * <p>{@link #interrupting} and {@link #aborting} schedule an abort (interrupt the sending thread,
 * close the connection) for when the attempt's time is up; the adapter calls {@link #disarm()} on
 * every path once the attempt has ended, and learns from it whether the abort happened — then the
 * attempt's failure is a {@code TIMEOUT}, whatever exception the abort caused.
 *
 * <p>The abort runs under this watchdog's lock, so {@code disarm()} waits for an abort under way:
 * an abort never reaches the next attempt's connection. An interrupt the watchdog caused is cleared
 * by {@code disarm()}, so none leaks to the caller; an interrupt the caller had already received is
 * kept.
 *
 * <p>One daemon thread keeps the alarms; cancelled alarms leave its queue at once, so a busy client
 * does not pile up alarms for calls that already finished. Interrupts and non-blocking aborts run
 * on it; aborts that may block (closing a connection whose pool is busy) run on their own daemon
 * threads, so that one slow abort cannot delay other attempts' timeouts. Thread-safe.
 */
final class AttemptWatchdog {
  private static final ScheduledThreadPoolExecutor ALARMS = alarms();
  private static final ExecutorService BLOCKING_ABORTS =
      Executors.newCachedThreadPool(daemon("gatewarden-attempt-abort"));

  private final Thread thread;
  private final boolean interrupt;
  private final Runnable abort;
  private final ScheduledFuture<?> alarm;
  private boolean done;
  private boolean fired;
  private boolean interruptedByUs;

  private AttemptWatchdog(Duration timeout, boolean interrupt, Runnable abort, Executor runner) {
    this.thread = Thread.currentThread();
    this.interrupt = interrupt;
    this.abort = abort;
    Runnable fire = runner == null ? this::fire : () -> runner.execute(this::fire);
    this.alarm = ALARMS.schedule(fire, timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Interrupts the current thread when {@code timeout} has passed, unless disarmed first. */
  static AttemptWatchdog interrupting(Duration timeout) {
    return new AttemptWatchdog(timeout, true, () -> {}, null);
  }

  /**
   * Runs {@code abort} and then interrupts the current thread when {@code timeout} has passed,
   * unless disarmed first: for a thread blocked where an interrupt alone is swallowed, but wakes it
   * to find what {@code abort} closed. {@code abort} must not block.
   */
  static AttemptWatchdog interrupting(Duration timeout, Runnable abort) {
    return new AttemptWatchdog(timeout, true, abort, null);
  }

  /**
   * Runs {@code abort} (on a thread of its own; it may block briefly, e.g. for a connection pool's
   * lock) when {@code timeout} has passed, unless disarmed first.
   */
  static AttemptWatchdog aborting(Duration timeout, Runnable abort) {
    return new AttemptWatchdog(timeout, false, abort, BLOCKING_ABORTS);
  }

  private synchronized void fire() {
    if (done) {
      return;
    }
    fired = true;
    try {
      abort.run();
    } finally {
      if (interrupt && !thread.isInterrupted()) {
        interruptedByUs = true; // an interrupt the caller already had stays theirs
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
      if (interruptedByUs) {
        Thread.interrupted(); // the interrupt was ours, not the caller's
      }
    }
    return fired;
  }

  private static ScheduledThreadPoolExecutor alarms() {
    ScheduledThreadPoolExecutor s =
        new ScheduledThreadPoolExecutor(1, daemon("gatewarden-attempt-watchdog"));
    s.setRemoveOnCancelPolicy(true);
    return s;
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }
}
