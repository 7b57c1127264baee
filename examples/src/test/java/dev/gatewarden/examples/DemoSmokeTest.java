package dev.gatewarden.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import org.junit.jupiter.api.Test;

/** Runs the demo's own walk-through, so the README's first command cannot rot. */
class DemoSmokeTest {
  @Test
  void demoShowsStaleCopiesAndErrorPages() throws Exception {
    Demo demo = new Demo();
    URI base = demo.start(0);
    try {
      assertThat(demo.smoke(base)).isZero();
    } finally {
      demo.stop();
    }
  }
}
