package dev.gatewarden.filter;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.UnsupportedEncodingException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * Captures what the application writes so that a failure can still be answered with one complete
 * response.
 *
 * <p>Design note. Status and headers go straight to the container's response, which is never
 * committed while we buffer, so {@code reset()} there discards them on failure; the body goes into
 * a growable array bounded by the capture limit. Flushes are absorbed while buffering (Spring MVC,
 * JSPs and template engines flush every response; streaming on the first flush would protect
 * nothing). The capture switches to pass-through <em>streaming</em> — bytes go to the client as
 * written and no fallback is possible any more — when the body outgrows the buffer, when the
 * content type is one of the configured streaming types (server-sent events), on a flush when the
 * route honours flushes, or when the app asks for non-blocking output. {@code sendError} and {@code
 * sendRedirect} are recorded and replayed at the end, so the container's own error page (which may
 * name an exception and an internal host) is only ever produced for statuses that are not failures.
 *
 * <p>Not thread-safe, like the response it wraps: the servlet contract allows one writer at a time.
 */
final class CapturingResponse extends HttpServletResponseWrapper {
  private static final byte[] EMPTY = new byte[0];

  private final HttpServletResponse target;
  private final Exchange exchange;
  private final int limit;

  private byte[] buf = EMPTY;
  private int count;
  private boolean streaming;
  private String streamingReason;
  private ServletOutputStream targetStream;
  private long streamedBytes;

  private CaptureStream stream;
  private PrintWriter writer;
  private Charset writerCharset;
  private boolean closed;
  private boolean suppressFlush;
  private volatile boolean discarding;

  private int errorStatus = -1;
  private String errorMessage;
  private String redirectLocation;
  private int redirectStatus = SC_FOUND;
  private long declaredLength = -1;

  CapturingResponse(HttpServletResponse target, Exchange exchange, int limit) {
    super(target);
    this.target = target;
    this.exchange = exchange;
    this.limit = limit;
  }

  // ---- body ----------------------------------------------------------------------------------

  @Override
  public ServletOutputStream getOutputStream() {
    if (writer != null) {
      throw new IllegalStateException("getWriter() has already been called for this response");
    }
    if (stream == null) {
      stream = new CaptureStream();
    }
    return stream;
  }

  @Override
  public PrintWriter getWriter() throws IOException {
    if (writer != null) {
      return writer;
    }
    if (stream != null) {
      throw new IllegalStateException(
          "getOutputStream() has already been called for this response");
    }
    String encoding = target.getCharacterEncoding();
    Charset charset;
    try {
      charset = encoding == null ? StandardCharsets.ISO_8859_1 : Charset.forName(encoding);
    } catch (IllegalArgumentException e) {
      UnsupportedEncodingException u = new UnsupportedEncodingException(encoding);
      u.initCause(e);
      throw u;
    }
    // As a container does on getWriter(): the charset becomes part of the Content-Type.
    target.setCharacterEncoding(charset.name());
    writerCharset = charset;
    writer = new PrintWriter(new OutputStreamWriter(new CaptureStream(), charset), false);
    return writer;
  }

  @Override
  public void setCharacterEncoding(String charset) {
    if (discarding) {
      return; // decided already: a late change must not reach the answer
    }
    if (writer == null) {
      super.setCharacterEncoding(charset);
    }
  }

  /**
   * Servlet 6.1's charset setter (declared without {@code @Override}, as the baseline API is 6.0):
   * like the {@code String} form, ignored once the writer exists, so the declared charset always
   * matches the bytes.
   */
  public void setCharacterEncoding(java.nio.charset.Charset charset) {
    setCharacterEncoding(charset == null ? (String) null : charset.name());
  }

  @Override
  public void setContentType(String type) {
    if (discarding) {
      return; // decided already: a late change must not reach the answer
    }
    super.setContentType(type);
    if (writer != null && type != null) {
      super.setCharacterEncoding(writerCharset.name());
    }
  }

  @Override
  public void setLocale(Locale locale) {
    if (discarding) {
      return; // decided already: a late change must not reach the answer
    }
    super.setLocale(locale);
    if (writer != null) {
      super.setCharacterEncoding(writerCharset.name());
    }
  }

  @Override
  public void flushBuffer() throws IOException {
    drainWriter();
    appFlush();
  }

  @Override
  public int getBufferSize() {
    return limit;
  }

  @Override
  public void setBufferSize(int size) {
    if (count > 0 || streaming) {
      throw new IllegalStateException("content has already been written to this response");
    }
    // The capture limit is configured; the container's own buffer size is irrelevant until we
    // write.
  }

  @Override
  public void resetBuffer() {
    if (isCommitted()) {
      throw new IllegalStateException("the response has already been committed");
    }
    drainWriter();
    count = 0;
    if (streaming) {
      target.resetBuffer();
    }
  }

  @Override
  public void reset() {
    if (discarding) {
      return; // decided already: the answer being sent is not the app's to reset
    }
    if (isCommitted()) {
      throw new IllegalStateException("the response has already been committed");
    }
    drainWriter();
    count = 0;
    errorStatus = -1;
    errorMessage = null;
    redirectLocation = null;
    redirectStatus = SC_FOUND;
    declaredLength = -1;
    closed = false;
    stream = null;
    writer = null;
    writerCharset = null;
    target.reset();
    leaveStreaming();
    exchange.restoreOwnHeaders();
  }

  @Override
  public boolean isCommitted() {
    if (streaming) {
      return target.isCommitted();
    }
    return errorStatus >= 0 || redirectLocation != null || closed;
  }

  // ---- status ---------------------------------------------------------------------------------

  @Override
  public void sendError(int sc, String msg) {
    if (isCommitted()) {
      throw new IllegalStateException("the response has already been committed");
    }
    abandonUncommittedStream();
    count = 0;
    errorStatus = sc;
    errorMessage = msg;
  }

  @Override
  public void sendError(int sc) {
    sendError(sc, null);
  }

  @Override
  public void sendRedirect(String location) {
    if (isCommitted()) {
      throw new IllegalStateException("the response has already been committed");
    }
    abandonUncommittedStream();
    count = 0;
    redirectLocation = location;
    redirectStatus = SC_FOUND;
  }

  // Servlet 6.1 adds these three to HttpServletResponse (and its wrapper, which would send them
  // straight to the container, bypassing the capture). Declared here without @Override, since the
  // baseline API is 6.0: on a 6.1 container they override the wrapper's versions.

  /** Servlet 6.1's redirect with a status; recorded and replayed like {@link #sendRedirect}. */
  public void sendRedirect(String location, int sc, boolean clearBuffer) {
    if (isCommitted()) {
      throw new IllegalStateException("the response has already been committed");
    }
    abandonUncommittedStream();
    if (clearBuffer) {
      count = 0;
    }
    redirectLocation = location;
    redirectStatus = sc;
  }

  /** Servlet 6.1's redirect with a status. */
  public void sendRedirect(String location, int sc) {
    sendRedirect(location, sc, true);
  }

  /** Servlet 6.1's redirect that may keep the body. */
  public void sendRedirect(String location, boolean clearBuffer) {
    sendRedirect(location, SC_FOUND, clearBuffer);
  }

  @Override
  public int getStatus() {
    if (errorStatus >= 0) {
      return errorStatus;
    }
    return redirectLocation != null ? redirectStatus : super.getStatus();
  }

  // ---- Content-Length -------------------------------------------------------------------------

  @Override
  public void setContentLength(int len) {
    if (discarding) {
      return; // decided already: a late change must not reach the answer
    }
    declaredLength = len;
    super.setContentLength(len);
  }

  @Override
  public void setContentLengthLong(long len) {
    if (discarding) {
      return; // decided already: a late change must not reach the answer
    }
    declaredLength = len;
    super.setContentLengthLong(len);
  }

  @Override
  public void setHeader(String name, String value) {
    if (discarding) {
      return; // decided already: a late change must not reach the answer
    }
    if ("Content-Length".equalsIgnoreCase(name)) {
      declaredLength = parseLength(value);
    }
    super.setHeader(name, value);
  }

  @Override
  public void addHeader(String name, String value) {
    if (discarding) {
      return; // decided already: a late change must not reach the answer
    }
    if ("Content-Length".equalsIgnoreCase(name)) {
      declaredLength = parseLength(value);
    }
    super.addHeader(name, value);
  }

  @Override
  public void setIntHeader(String name, int value) {
    if (discarding) {
      return; // decided already: a late change must not reach the answer
    }
    if ("Content-Length".equalsIgnoreCase(name)) {
      declaredLength = value;
    }
    super.setIntHeader(name, value);
  }

  @Override
  public void addIntHeader(String name, int value) {
    if (discarding) {
      return; // decided already: a late change must not reach the answer
    }
    if ("Content-Length".equalsIgnoreCase(name)) {
      declaredLength = value;
    }
    super.addIntHeader(name, value);
  }

  @Override
  public void setDateHeader(String name, long date) {
    if (!discarding) {
      super.setDateHeader(name, date);
    }
  }

  @Override
  public void addDateHeader(String name, long date) {
    if (!discarding) {
      super.addDateHeader(name, date);
    }
  }

  @Override
  public void addCookie(jakarta.servlet.http.Cookie cookie) {
    if (!discarding) {
      super.addCookie(cookie);
    }
  }

  @Override
  public void setStatus(int sc) {
    if (!discarding) {
      super.setStatus(sc);
    }
  }

  private static long parseLength(String value) {
    if (value == null) {
      return -1;
    }
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      return -2; // declared but unparseable: never matches a body length
    }
  }

  // ---- what the exchange reads at the end ----------------------------------------------------

  /** Pushes characters still held by the writer's encoder into the capture, without a flush. */
  void drainWriter() {
    if (writer != null) {
      suppressFlush = true;
      try {
        writer.flush();
      } finally {
        suppressFlush = false;
      }
    }
  }

  boolean isStreaming() {
    return streaming;
  }

  String streamingReason() {
    return streamingReason;
  }

  /** Bytes already sent to the client while streaming. */
  long streamedBytes() {
    return streamedBytes;
  }

  byte[] buffer() {
    return buf;
  }

  int bufferedLength() {
    return count;
  }

  int errorStatus() {
    return errorStatus;
  }

  String redirectLocation() {
    return redirectLocation;
  }

  long declaredLength() {
    return declaredLength;
  }

  /**
   * Sends what was captured to the client, unchanged: a recorded {@code sendError} or {@code
   * sendRedirect}, or the status, headers and buffered body.
   */
  void commitCaptured(boolean head) throws IOException {
    if (errorStatus >= 0) {
      target.sendError(errorStatus, errorMessage);
      return;
    }
    if (redirectLocation != null) {
      if (redirectStatus == SC_FOUND) {
        target.sendRedirect(redirectLocation);
      } else {
        target.setStatus(redirectStatus);
        target.setHeader("Location", redirectLocation); // relative is fine (RFC 9110 §10.2.2)
      }
      if (count > 0) {
        target.getOutputStream().write(buf, 0, count); // a 6.1 redirect that kept its body
      }
      return;
    }
    int status = target.getStatus();
    if (status == SC_NO_CONTENT || status == SC_NOT_MODIFIED || (status >= 100 && status < 200)) {
      return;
    }
    // A body that fits the container's own buffer gets its Content-Length from the container when
    // the response completes, written together with the headers; declaring it here would make the
    // container treat our single write as the last one and flush it on this thread, blocking (the
    // largest cost the filter had in the throughput benchmark). Larger bodies, and HEAD, declare
    // it.
    if (declaredLength < 0 && (head ? count > 0 : count > target.getBufferSize())) {
      target.setContentLength(count);
    }
    if (!head && count > 0) {
      target.getOutputStream().write(buf, 0, count);
    }
  }

  /**
   * Switches to pass-through (if not already) so that the rest of an async-dispatched response goes
   * straight to the client; used when protection is no longer possible.
   */
  void passThrough(String reason) throws IOException {
    if (!streaming && !discarding) {
      drainWriter();
      startStreaming(reason);
    }
  }

  // ---- internals ------------------------------------------------------------------------------

  private boolean ignoringWrites() {
    return errorStatus >= 0 || redirectLocation != null;
  }

  /**
   * Drops every later write: the exchange has been decided (e.g. an async timeout was answered
   * while the app's thread still writes), and what the app writes afterwards must never reach the
   * client.
   */
  void discardFurtherWrites() {
    discarding = true;
  }

  private void write(byte[] b, int off, int len) throws IOException {
    if (discarding) {
      return;
    }
    if (closed) {
      throw new IOException("the response output has been closed");
    }
    if (ignoringWrites() || len == 0) {
      return;
    }
    if (!streaming) {
      if (count == 0 && isStreamingContentType()) {
        startStreaming("streaming content type " + target.getContentType());
      } else if (count + len > limit) {
        startStreaming("body larger than the " + limit + "-byte capture buffer");
      } else {
        if (count + len > buf.length) {
          buf =
              Arrays.copyOf(
                  buf, Math.min(limit, Math.max(count + len, Math.max(1024, buf.length * 2))));
        }
        System.arraycopy(b, off, buf, count, len);
        count += len;
        return;
      }
    }
    if (declaredLength >= 0 && streamedBytes + len > declaredLength) {
      // Containers would cut the body at its Content-Length and end it as if it were whole.
      throw new IOException(
          "the body is longer than its Content-Length (" + declaredLength + " bytes)");
    }
    targetStream.write(b, off, len);
    streamedBytes += len;
  }

  private void appFlush() throws IOException {
    if (suppressFlush || discarding) {
      return;
    }
    if (!streaming) {
      if (exchange.route().honourFlush()) {
        startStreaming("flush on a route that honours flushes");
      } else if (isStreamingContentType()) {
        startStreaming("streaming content type " + target.getContentType());
      } else {
        return; // absorbed: the bytes stay in the buffer, nothing is committed
      }
    }
    targetStream.flush();
  }

  /**
   * Streaming began but nothing reached the client yet (the container has not committed): the
   * response may still be decided as a whole, so go back to capturing. The container's buffer is
   * cleared; what was in it was the app's output so far, which a redirect or error replaces.
   */
  private void abandonUncommittedStream() {
    if (streaming && !target.isCommitted()) {
      target.resetBuffer();
      leaveStreaming();
    }
  }

  /** Back to capturing, with an empty buffer (after a reset, or an uncommitted stream given up). */
  void leaveStreaming() {
    streaming = false;
    streamingReason = null;
    targetStream = null;
    streamedBytes = 0;
    count = 0;
  }

  private void startStreaming(String reason) throws IOException {
    streaming = true;
    streamingReason = reason;
    targetStream = target.getOutputStream();
    if (count > 0) {
      targetStream.write(buf, 0, count);
      streamedBytes = count;
    }
    buf = EMPTY;
    count = 0;
    exchange.streamingStarted(reason);
  }

  private boolean isStreamingContentType() {
    String ct = target.getContentType();
    if (ct == null) {
      return false;
    }
    int semi = ct.indexOf(';');
    String base = (semi < 0 ? ct : ct.substring(0, semi)).trim().toLowerCase(Locale.ROOT);
    return exchange.streamingContentTypes().contains(base);
  }

  private final class CaptureStream extends ServletOutputStream {
    private final byte[] one = new byte[1];

    @Override
    public void write(int b) throws IOException {
      one[0] = (byte) b;
      CapturingResponse.this.write(one, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      java.util.Objects.checkFromIndexSize(off, len, b.length);
      CapturingResponse.this.write(b, off, len);
    }

    @Override
    public void flush() throws IOException {
      appFlush();
    }

    @Override
    public void close() throws IOException {
      if (closed) {
        return;
      }
      if (streaming) {
        targetStream.close();
      }
      closed = true;
    }

    @Override
    public boolean isReady() {
      return !streaming || targetStream.isReady();
    }

    @Override
    public void setWriteListener(WriteListener listener) {
      try {
        passThrough("non-blocking output (setWriteListener)");
      } catch (IOException e) {
        throw new IllegalStateException("could not switch to streaming", e);
      }
      targetStream.setWriteListener(listener);
    }
  }
}
