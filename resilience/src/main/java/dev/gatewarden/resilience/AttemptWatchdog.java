package dev.gatewarden.resilience;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;

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
 * <p>One daemon thread checks the armed watchdogs every 10 ms (so a timeout fires up to 10 ms late)
 * while there are any, and ends after a second without; the next attempt starts it again.
 * Interrupts and non-blocking aborts run on it; aborts that may block (closing a connection whose
 * pool is busy) run on their own daemon threads, so that one slow abort cannot delay other
 * attempts' timeouts. Thread-safe.
 *
 * <p>Watchdogs nested on one thread (a wrapped client inside another's transport) each bound their
 * own attempt, but an interrupt is one flag: when the inner one fires first and is disarmed, its
 * clearing of the flag also clears an outer interrupt that came in the meantime; the outer attempt
 * then learns of its timeout at its own {@code disarm()}. Do not wrap a client twice.
 */
final class AttemptWatchdog {
  /** How often armed watchdogs are checked: a timeout fires up to this much late. */
  private static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  /** Idle ticks before the scanner thread ends: one second without attempts. */
  private static final int IDLE_TICKS_BEFORE_ENDING = 100;

  /**
   * The armed watchdogs, one per slot: arming claims a free slot near one derived from the arming
   * thread (a thread has one attempt at a time, so its slot is nearly always free), disarming
   * empties it — a compare-and-set each, no allocation, no hashing of the watchdog.
   */
  private static final AtomicReferenceArray<AttemptWatchdog> ARMED =
      new AtomicReferenceArray<>(256);

  /** Slots tried from the thread's own before falling back to {@link #OVERFLOW}. */
  private static final int PROBES = 8;

  /** Watchdogs that found no free slot among those they tried (many attempts in flight). */
  private static final Set<AttemptWatchdog> OVERFLOW = ConcurrentHashMap.newKeySet();

  private static final ExecutorService BLOCKING_ABORTS =
      Executors.newCachedThreadPool(daemon("gatewarden-attempt-abort"));

  /** Whether a scanner thread is running (or about to): at most one at a time. */
  private static final AtomicBoolean SCANNING = new AtomicBoolean();

  private final Thread thread;
  private final boolean interrupt;
  private final Runnable abort;
  private final boolean mayBlock;
  private final long deadline;

  /** This watchdog's slot in {@link #ARMED}, or -1 when it is in {@link #OVERFLOW}. */
  private int slot = -1;

  private boolean done;
  private boolean fired;
  private boolean interruptedByUs;

  private AttemptWatchdog(Duration timeout, boolean interrupt, Runnable abort, boolean mayBlock) {
    this.thread = Thread.currentThread();
    this.interrupt = interrupt;
    this.abort = abort;
    this.mayBlock = mayBlock;
    this.deadline = System.nanoTime() + timeout.toNanos();
    register();
    if (!SCANNING.get() && SCANNING.compareAndSet(false, true)) {
      try {
        startScanner();
      } catch (Throwable e) { // e.g. no native thread left: fail this attempt, not every later one
        SCANNING.set(false);
        disarm(); // an old scanner may have taken it meanwhile: make sure it acts no more
        throw e;
      }
    }
  }

  /** Interrupts the current thread when {@code timeout} has passed, unless disarmed first. */
  static AttemptWatchdog interrupting(Duration timeout) {
    return new AttemptWatchdog(timeout, true, () -> {}, false);
  }

  /**
   * Runs {@code abort} and then interrupts the current thread when {@code timeout} has passed,
   * unless disarmed first: for a thread blocked where an interrupt alone is swallowed, but wakes it
   * to find what {@code abort} closed. {@code abort} must not block.
   */
  static AttemptWatchdog interrupting(Duration timeout, Runnable abort) {
    return new AttemptWatchdog(timeout, true, abort, false);
  }

  /**
   * Runs {@code abort} (on a thread of its own; it may block briefly, e.g. for a connection pool's
   * lock) when {@code timeout} has passed, unless disarmed first.
   */
  static AttemptWatchdog aborting(Duration timeout, Runnable abort) {
    return new AttemptWatchdog(timeout, false, abort, true);
  }

  private void register() {
    int mask = ARMED.length() - 1;
    int home = (int) ((Thread.currentThread().getId() * 0x9E3779B97F4A7C15L) >>> 40) & mask;
    for (int i = 0; i < PROBES; i++) {
      int s = (home + i) & mask;
      if (ARMED.get(s) == null && ARMED.compareAndSet(s, null, this)) {
        slot = s;
        return;
      }
    }
    OVERFLOW.add(this);
  }

  /** Removes this watchdog from where it was armed, unless the scanner already took it. */
  private void unregister() {
    if (slot >= 0) {
      ARMED.compareAndSet(slot, this, null);
    } else {
      OVERFLOW.remove(this);
    }
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
      unregister();
      if (interruptedByUs) {
        Thread.interrupted(); // the interrupt was ours, not the caller's
      }
    }
    return fired;
  }

  /**
   * Checks the armed watchdogs every tick and ends after a second without any; the next arming
   * starts a new one. Arming and disarming only fill and empty a slot: no thread is woken per
   * attempt (a scheduler signals its timer thread on every new earliest alarm, which cost a
   * loopback call a fifth more). No thread outlives the traffic, so a web app that is undeployed
   * leaves none behind.
   */
  private static void startScanner() {
    daemon("gatewarden-attempt-watchdog").newThread(AttemptWatchdog::scan).start();
  }

  private static void scan() {
    boolean handedOver = false;
    try {
      int idleTicks = 0;
      while (true) {
        long now = System.nanoTime();
        for (int i = 0; i < ARMED.length(); i++) {
          AttemptWatchdog w = ARMED.get(i);
          if (w != null && now - w.deadline >= 0 && ARMED.compareAndSet(i, w, null)) {
            fireOrHandOver(w);
          }
        }
        for (AttemptWatchdog w : OVERFLOW) {
          if (now - w.deadline >= 0 && OVERFLOW.remove(w)) {
            fireOrHandOver(w);
          }
        }
        idleTicks = noneArmed() ? idleTicks + 1 : 0;
        if (idleTicks > IDLE_TICKS_BEFORE_ENDING) {
          SCANNING.set(false);
          // an attempt armed since the check above saw SCANNING still set and started no
          // scanner: this one carries on unless another has started meanwhile
          if (noneArmed() || !SCANNING.compareAndSet(false, true)) {
            handedOver = true;
            return;
          }
          idleTicks = 0;
        }
        LockSupport.parkNanos(TICK_NANOS);
      }
    } finally {
      if (!handedOver) { // ended by an error: the attempts still armed need a scanner
        SCANNING.set(false);
        if (!noneArmed() && SCANNING.compareAndSet(false, true)) {
          try {
            startScanner();
          } catch (Throwable e) {
            SCANNING.set(false); // the next arming tries again
          }
        }
      }
    }
  }

  private static void fireOrHandOver(AttemptWatchdog w) {
    try {
      if (w.mayBlock) {
        BLOCKING_ABORTS.execute(w::fire);
      } else {
        w.fire();
      }
    } catch (RuntimeException e) {
      // an abort that failed (or could not be handed over) must not stop the other timeouts
    }
  }

  /**
   * Whether no watchdog is armed. Looks for an element rather than asking {@code isEmpty()}, whose
   * summed counters may miss an insertion that races with a removal.
   */
  private static boolean noneArmed() {
    for (int i = 0; i < ARMED.length(); i++) {
      if (ARMED.get(i) != null) {
        return false;
      }
    }
    return !OVERFLOW.iterator().hasNext();
  }

  /**
   * Daemon threads that hold nothing of the thread that started them: no inherited thread-locals,
   * no context class loader (which would keep an undeployed web app's classes alive).
   */
  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(null, r, name, 0, false);
      t.setDaemon(true);
      t.setContextClassLoader(null);
      return t;
    };
  }
}
