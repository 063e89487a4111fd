// Database faults: errors that say "the database cannot be reached right now", as opposed to errors about
// the statement itself (a constraint, a race, a bug).
//
// A restart, a terminated backend, a stalled network, an exhausted pool or a failover to a standby all end
// a request with one of these. They are temporary by nature, so they are answered with something a client
// can retry: inside a ledger write the write's own retry loop tries again and, when the fault outlasts it,
// answers LEDGER_BUSY (src/ledger/transaction.ts calls `isRetryableDatabaseFault`); anywhere else the
// request is answered 503 with Retry-After and the code DATABASE_UNAVAILABLE
// (src/server/observability/database-faults.ts), never a masked INTERNAL_SERVER_ERROR.
//
// The one exception is a COMMIT whose connection failed: the transaction may or may not have committed, so
// repeating it could write twice. `CommitOutcomeUnknownError` marks it: a database fault (503), but never
// retried by the ledger. The client retries with the same idempotency key and gets the original result if
// the write did commit.

/** SQLSTATE codes (and classes) that mean the server or the connection is going away, not the statement. */
const unavailableSqlStates = new Set([
  "57P01", // admin_shutdown: pg_terminate_backend, or a fast/immediate shutdown
  "57P02", // crash_shutdown: another backend crashed and the server is restarting
  "57P03", // cannot_connect_now: the server is starting up or shutting down
  "57P05", // idle_session_timeout
  "25006", // read_only_sql_transaction: a failover's new primary still read-only, or an old one demoted
  "53300", // too_many_connections
  "53400", // configuration_limit_exceeded
  "25P03", // idle_in_transaction_session_timeout
]);
const unavailableSqlStateClasses = ["08"]; // connection_exception and its subclasses

/** Node's socket error codes that mean the server cannot be reached. */
const unavailableSocketCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** How Prisma's driver adapters classify such errors (DriverAdapterError's `cause.kind`). */
const unavailableAdapterKinds = new Set([
  "DatabaseNotReachable",
  "ConnectionClosed",
  "SocketTimeout",
  "TooManyConnections",
  "TlsConnectionError",
]);

/** Prisma's own codes for the same: cannot reach, timed out, server closed the connection, pool timeout. */
const unavailablePrismaCodes = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);

/**
 * Messages of errors that carry no code: node-postgres's own ("Connection terminated unexpectedly", the
 * pool's "timeout exceeded when trying to connect", a query's "Query read timeout"), and the server's
 * messages when only the text survived a wrapper.
 */
const unavailableMessages = new RegExp(
  [
    "Connection terminated",
    "timeout exceeded when trying to connect",
    "Query read timeout",
    "Client has encountered a connection error",
    "Connection ended",
    "connection (?:is )?closed",
    "Client was closed",
    "Cannot use a pool after calling end",
    "terminating connection due to administrator command",
    "the database system is (?:starting up|shutting down|in recovery|not yet accepting connections)",
    "server closed the connection unexpectedly",
    "cannot execute \\w+ in a read-only transaction",
    "Connection refused",
    "The database connection was lost",
    // A prepared statement whose table changed columns (a migration by a newer instance): the connection's
    // prepared statements are stale, so it is discarded and the next attempt prepares afresh (pool.ts).
    "cached plan must not change result type",
  ].join("|"),
  "i",
);

/** Thrown by a COMMIT whose connection failed: the write may or may not have been committed. */
export class CommitOutcomeUnknownError extends Error {
  constructor(cause: unknown) {
    super("The connection failed during COMMIT; the transaction may or may not have been committed.", { cause });
    this.name = "CommitOutcomeUnknownError";
  }
}

/** Thrown by the pool for a connection it discarded after a timeout or a connection error. */
export class ConnectionDiscardedError extends Error {
  constructor(reason: string) {
    super(`Connection ended: ${reason}`);
    this.name = "ConnectionDiscardedError";
  }
}

/** Whether `error` (or anything it wraps) says the database is unreachable or the connection is gone. */
export function isDatabaseUnavailable(error: unknown): boolean {
  return findFault(error, (record) => isUnavailableRecord(record));
}

/**
 * Whether a failed write attempt may simply be run again: the database was unreachable or the connection
 * failed before the outcome was decided. False for a COMMIT whose outcome is unknown.
 */
export function isRetryableDatabaseFault(error: unknown): boolean {
  return isDatabaseUnavailable(error) && !isCommitOutcomeUnknown(error);
}

export function isCommitOutcomeUnknown(error: unknown): boolean {
  return findFault(error, (record) => record instanceof CommitOutcomeUnknownError);
}

interface ErrorRecord {
  name?: unknown;
  code?: unknown;
  originalCode?: unknown;
  kind?: unknown;
  message?: unknown;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown;
  meta?: { code?: unknown; driverAdapterError?: unknown };
}

function isUnavailableRecord(record: ErrorRecord): boolean {
  if (record instanceof CommitOutcomeUnknownError || record instanceof ConnectionDiscardedError) return true;
  for (const code of [record.code, record.originalCode, record.meta?.code]) {
    if (typeof code !== "string") continue;
    if (unavailableSqlStates.has(code) || unavailableSocketCodes.has(code) || unavailablePrismaCodes.has(code))
      return true;
    if (/^[0-9A-Z]{5}$/.test(code) && unavailableSqlStateClasses.some((prefix) => code.startsWith(prefix))) return true;
  }
  if (typeof record.kind === "string" && unavailableAdapterKinds.has(record.kind)) return true;
  return typeof record.message === "string" && unavailableMessages.test(record.message);
}

/** Walks an error and what it wraps (cause, originalError, Prisma's meta, an AggregateError's errors). */
function findFault(error: unknown, test: (record: ErrorRecord) => boolean): boolean {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length > 0 && seen.size < 32) {
    const current = pending.shift();
    if (!current || typeof current !== "object" || seen.has(current)) continue;
    seen.add(current);
    const record = current as ErrorRecord;
    if (test(record)) return true;
    pending.push(record.cause, record.originalError, record.meta?.driverAdapterError);
    if (Array.isArray(record.errors)) pending.push(...record.errors);
  }
  return false;
}
