package dev.gatewarden.examples;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/** The web.xml example's page: answers, or fails like a broken database when {@code ?fail=true}. */
public final class HelloServlet extends HttpServlet {
  private static final long serialVersionUID = 1L;

  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    if ("true".equals(req.getParameter("fail"))) {
      throw new IllegalStateException(
          new java.sql.SQLException("Connection refused: db-7.internal:5432"));
    }
    resp.setContentType("text/plain;charset=UTF-8");
    resp.getWriter().write("hello");
  }
}
