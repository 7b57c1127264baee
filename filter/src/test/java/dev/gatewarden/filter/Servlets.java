package dev.gatewarden.filter;

import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/** Servlets from lambdas, for tests. */
public final class Servlets {
  private Servlets() {}

  /** The code a test servlet runs for every method. */
  @FunctionalInterface
  public interface Handler {
    void handle(HttpServletRequest request, HttpServletResponse response) throws Exception;
  }

  /** A servlet that runs the handler for every method (HEAD included). */
  public static HttpServlet of(Handler handler) {
    return new HttpServlet() {
      private static final long serialVersionUID = 1L;

      @Override
      protected void service(HttpServletRequest req, HttpServletResponse resp)
          throws ServletException, IOException {
        try {
          handler.handle(req, resp);
        } catch (ServletException | IOException | RuntimeException e) {
          throw e;
        } catch (Exception e) {
          throw new ServletException(e);
        }
      }
    };
  }
}
