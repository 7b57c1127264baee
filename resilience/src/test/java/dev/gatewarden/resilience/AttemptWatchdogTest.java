package dev.gatewarden.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The watchdog's contract with the thread it guards: interrupts, their clearing, its threads. */
class AttemptWatchdogTest {
  private static final Duration SOON = Duration.ofMillis(1);

  @Test
  void anInterruptOfTheWatchdogsOwnIsClearedByDisarm() throws Exception {
    boolean[] result =
        onNewThread(
            () -> {
              AttemptWatchdog w = AttemptWatchdog.interrupting(SOON);
              while (!Thread.currentThread().isInterrupted()) {
                Thread.onSpinWait(); // until the watchdog fires
              }
              boolean fired = w.disarm();
              return new boolean[] {fired, Thread.currentThread().isInterrupted()};
            });
    assertThat(result[0]).as("fired").isTrue();
    assertThat(result[1]).as("still interrupted after disarm").isFalse();
  }

  @Test
  void anInterruptTheCallerAlreadyHadIsKept() throws Exception {
    boolean[] result =
        onNewThread(
            () -> {
              CountDownLatch fired = new CountDownLatch(1);
              Thread.currentThread().interrupt(); // e.g. the caller's task was cancelled
              AttemptWatchdog w = AttemptWatchdog.interrupting(SOON, fired::countDown);
              while (fired.getCount() > 0) {
                Thread.onSpinWait();
              }
              boolean timedOut = w.disarm();
              return new boolean[] {timedOut, Thread.currentThread().isInterrupted()};
            });
    assertThat(result[0]).as("fired").isTrue();
    assertThat(result[1]).as("the caller's interrupt survives").isTrue();
  }

  @Test
  void manyWatchdogsArmedByOneThreadAllFireAndFreeTheirPlaces() throws Exception {
    // one thread arming many at once fills the slots it tries and then the overflow set
    int n = 40;
    java.util.concurrent.atomic.AtomicInteger aborted =
        new java.util.concurrent.atomic.AtomicInteger();
    CountDownLatch all = new CountDownLatch(n);
    java.util.List<AttemptWatchdog> armed = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) {
      armed.add(
          AttemptWatchdog.aborting(
              SOON,
              () -> {
                aborted.incrementAndGet();
                all.countDown();
              }));
    }
    assertThat(all.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(aborted).hasValue(n);
    for (AttemptWatchdog w : armed) {
      assertThat(w.disarm()).isTrue();
    }
    // and the places are free again: a new one that is disarmed in time never fires
    AttemptWatchdog next =
        AttemptWatchdog.aborting(Duration.ofMillis(200), aborted::incrementAndGet);
    assertThat(next.disarm()).isFalse();
    awaitScannerPast(Duration.ofMillis(200));
    assertThat(aborted).hasValue(n);
  }

  @Test
  void watchdogsBeyondTheSlotsADisarmedInTimeNeverFire() throws Exception {
    java.util.concurrent.atomic.AtomicInteger aborted =
        new java.util.concurrent.atomic.AtomicInteger();
    java.util.List<AttemptWatchdog> armed = new java.util.ArrayList<>();
    for (int i = 0; i < 12; i++) { // one thread: its eight slots, then the overflow set
      armed.add(AttemptWatchdog.aborting(Duration.ofMillis(300), aborted::incrementAndGet));
    }
    for (AttemptWatchdog w : armed) {
      assertThat(w.disarm()).isFalse();
    }
    awaitScannerPast(Duration.ofMillis(300));
    assertThat(aborted).hasValue(0);
  }

  /**
   * Waits until the scanner has got past {@code timeout} from now, so a negative check cannot pass
   * merely because the scanner was late: a watchdog due 150 ms (fifteen scans) later has fired. Any
   * watchdog due by then that was still armed would have been handed its abort before it.
   */
  private static void awaitScannerPast(Duration timeout) throws InterruptedException {
    CountDownLatch passed = new CountDownLatch(1);
    AttemptWatchdog.aborting(timeout.plusMillis(150), passed::countDown);
    assertThat(passed.await(10, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void aWatchdogInTheOverflowSetAloneKeepsTheScannerGoing() throws Exception {
    java.util.concurrent.atomic.AtomicInteger aborted =
        new java.util.concurrent.atomic.AtomicInteger();
    java.util.List<AttemptWatchdog> fillers = new java.util.ArrayList<>();
    for (int i = 0; i < 8; i++) { // this thread's slots
      fillers.add(AttemptWatchdog.aborting(Duration.ofSeconds(30), () -> {}));
    }
    CountDownLatch fired = new CountDownLatch(1);
    AttemptWatchdog late =
        AttemptWatchdog.aborting(
            Duration.ofMillis(1500),
            () -> {
              aborted.incrementAndGet();
              fired.countDown();
            });
    for (AttemptWatchdog w : fillers) {
      w.disarm();
    }
    // past the scanner's idle second with only the overflow entry armed, then past its deadline
    assertThat(fired.await(5, TimeUnit.SECONDS)).isTrue();
    assertThat(aborted).hasValue(1);
    assertThat(late.disarm()).isTrue();
  }

  @Test
  void aDisarmedWatchdogNeverFires() throws Exception {
    boolean[] result =
        onNewThread(
            () -> {
              AttemptWatchdog w = AttemptWatchdog.interrupting(Duration.ofMillis(50));
              boolean fired = w.disarm();
              return new boolean[] {fired, Thread.currentThread().isInterrupted()};
            });
    assertThat(result).containsExactly(false, false);
  }

  @Test
  void aBlockingAbortDoesNotHoldUpOtherAttemptsTimeouts() throws Exception {
    CountDownLatch stuck = new CountDownLatch(1);
    CountDownLatch blocking = new CountDownLatch(1);
    AttemptWatchdog slow =
        AttemptWatchdog.aborting(
            SOON,
            () -> {
              blocking.countDown();
              awaitQuietly(stuck); // e.g. a connection pool's lock held through a DNS lookup
            });
    try {
      assertThat(blocking.await(10, TimeUnit.SECONDS)).isTrue();
      CountDownLatch other = new CountDownLatch(1);
      AttemptWatchdog.aborting(SOON, other::countDown);
      assertThat(other.await(5, TimeUnit.SECONDS))
          .as("another attempt's abort ran while the first one was still blocked")
          .isTrue();
    } finally {
      stuck.countDown();
    }
    assertThat(slow.disarm()).isTrue();
  }

  @Test
  void noThreadIsLeftOnceAttemptsStopAndTheNextAttemptStartsOne() throws Exception {
    CountDownLatch first = new CountDownLatch(1);
    AttemptWatchdog idle = AttemptWatchdog.aborting(SOON, first::countDown); // no interrupt here
    assertThat(first.await(5, TimeUnit.SECONDS)).isTrue();
    assertThat(idle.disarm()).isTrue();
    // a web app that is undeployed must not leave the watchdog's thread behind: it ends after a
    // second without attempts
    Thread scanner =
        Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.getName().equals("gatewarden-attempt-watchdog"))
            .findFirst()
            .orElse(null);
    if (scanner != null) {
      scanner.join(TimeUnit.SECONDS.toMillis(10));
    }
    assertThat(scannerAlive()).as("watchdog thread still running while idle").isFalse();

    boolean[] result =
        onNewThread(
            () -> {
              CountDownLatch fired = new CountDownLatch(1);
              AttemptWatchdog w = AttemptWatchdog.interrupting(SOON, fired::countDown);
              long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
              while (fired.getCount() > 0 && System.nanoTime() < giveUp) {
                Thread.onSpinWait(); // not await(): the watchdog's interrupt would end it
              }
              return new boolean[] {fired.getCount() == 0, w.disarm()};
            });
    assertThat(result).as("a new attempt is watched again").containsExactly(true, true);
  }

  @Test
  void anAbortThatThrowsDoesNotStopLaterTimeouts() throws Exception {
    CountDownLatch thrown = new CountDownLatch(1);
    AttemptWatchdog failing =
        AttemptWatchdog.aborting(
            SOON,
            () -> {
              thrown.countDown();
              throw new IllegalStateException("the connection was already gone");
            });
    assertThat(thrown.await(5, TimeUnit.SECONDS)).isTrue();
    assertThat(failing.disarm()).isTrue();
    // the same with a non-blocking abort, which runs on the scanner thread itself
    boolean[] result =
        onNewThread(
            () -> {
              AttemptWatchdog w =
                  AttemptWatchdog.interrupting(
                      SOON,
                      () -> {
                        throw new IllegalStateException("already closed");
                      });
              while (!Thread.currentThread().isInterrupted()) {
                Thread.onSpinWait(); // the interrupt still comes
              }
              return new boolean[] {w.disarm()};
            });
    assertThat(result).containsExactly(true);

    CountDownLatch later = new CountDownLatch(1);
    AttemptWatchdog next = AttemptWatchdog.aborting(SOON, later::countDown);
    assertThat(later.await(5, TimeUnit.SECONDS)).as("a later attempt still times out").isTrue();
    assertThat(next.disarm()).isTrue();
  }

  private static boolean scannerAlive() {
    return Thread.getAllStackTraces().keySet().stream()
        .anyMatch(t -> t.isAlive() && t.getName().equals("gatewarden-attempt-watchdog"));
  }

  private interface Body {
    boolean[] run() throws Exception;
  }

  /** Runs {@code body} on a fresh thread, so interrupts never touch the test's own thread. */
  private static boolean[] onNewThread(Body body) throws Exception {
    CompletableFuture<boolean[]> out = new CompletableFuture<>();
    Thread t =
        new Thread(
            () -> {
              try {
                out.complete(body.run());
              } catch (Throwable e) {
                out.completeExceptionally(e);
              }
            });
    t.start();
    return out.get(10, TimeUnit.SECONDS);
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
