package dev.gatewarden.resilience;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Walks an exception's cause chain and names its {@link FailureCause}. Matching is by class name as
 * well as by type, so that optional libraries (JDBC pools, JPA, Spring's DAO layer) are recognised
 * without being dependencies.
 */
final class FailureClassifier {
  private static final int MAX_DEPTH = 32;

  private FailureClassifier() {}

  static FailureCause classify(Throwable failure) {
    FailureCause best = null;
    Map<Throwable, Boolean> seen = new IdentityHashMap<>();
    int depth = 0;
    for (Throwable t = failure;
        t != null && depth < MAX_DEPTH && seen.put(t, Boolean.TRUE) == null;
        t = t.getCause(), depth++) {
      if (t instanceof UpstreamException) { // a Gatewarden client's failure, classified already
        return ((UpstreamException) t).failureCause();
      }
      if (t instanceof TransportException) {
        return ((TransportException) t).failureCause();
      }
      FailureCause cause = classifyOne(t);
      if (cause == FailureCause.DATABASE) {
        return cause;
      }
      if (cause != null && (best == null || namesWhyAConnectionFailed(cause, best))) {
        best = cause;
      }
    }
    return best != null ? best : FailureCause.APPLICATION;
  }

  /**
   * Whether {@code cause}, found deeper in the chain, says more than {@code best}: a DNS or TLS
   * failure is why a connection failed, and clients report it wrapped in a connection error (the
   * JDK client: a {@code ConnectException} caused by {@code UnresolvedAddressException}). A timeout
   * stays a timeout, whatever it cut short.
   */
  private static boolean namesWhyAConnectionFailed(FailureCause cause, FailureCause best) {
    return (cause == FailureCause.DNS || cause == FailureCause.TLS) && best == FailureCause.CONNECT;
  }

  private static FailureCause classifyOne(Throwable t) {
    if (isDatabase(t)) {
      return FailureCause.DATABASE;
    }
    if (t instanceof java.net.UnknownHostException
        || t instanceof java.nio.channels.UnresolvedAddressException) {
      return FailureCause.DNS;
    }
    if (t instanceof javax.net.ssl.SSLException) {
      return FailureCause.TLS;
    }
    if (t instanceof java.net.SocketTimeoutException
        || t instanceof java.util.concurrent.TimeoutException
        || t instanceof java.net.http.HttpTimeoutException
        || t instanceof java.io.InterruptedIOException) {
      return FailureCause.TIMEOUT;
    }
    if (t instanceof java.net.ConnectException
        || t instanceof java.net.NoRouteToHostException
        || t instanceof java.net.PortUnreachableException) {
      return FailureCause.CONNECT;
    }
    if (t instanceof java.net.SocketException && String.valueOf(t.getMessage()).contains("reset")) {
      return FailureCause.CONNECT;
    }
    return null;
  }

  private static boolean isDatabase(Throwable t) {
    for (Class<?> c = t.getClass(); c != null && c != Throwable.class; c = c.getSuperclass()) {
      String name = c.getName();
      if (name.startsWith("java.sql.")
          || name.startsWith("javax.sql.")
          || name.equals("org.springframework.dao.DataAccessException")
          || name.equals("org.springframework.transaction.TransactionException")
          || name.equals("jakarta.persistence.PersistenceException")
          || name.equals("javax.persistence.PersistenceException")
          || name.equals("org.hibernate.HibernateException")
          || name.equals("org.jdbi.v3.core.JdbiException")
          || name.equals("org.jooq.exception.DataAccessException")
          || name.startsWith("com.zaxxer.hikari.pool.")) {
        return true;
      }
    }
    return false;
  }
}
