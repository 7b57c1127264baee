package dev.gatewarden.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Proves which OkHttp the conformance suite ran against: 4 in the default test run, 5 in the {@code
 * okhttp5-conformance} run (see this module's pom), which sets the expected major version.
 */
class OkHttpVersionTest {
  @Test
  void theConformanceRunHasTheOkHttpItWasMeantFor() throws ReflectiveOperationException {
    String major = System.getProperty("gatewarden.test.okhttp-major", "4");
    // read at run time: javac inlines the constant OkHttp.VERSION from the compile-time jar
    Object version = okhttp3.OkHttp.class.getField("VERSION").get(null);
    assertThat(version).asString().startsWith(major + ".");
  }
}
