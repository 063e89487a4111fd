// Runs one ledger write as one database transaction, with bounded waiting and run time, and retries it when
// the database says the transaction lost a race (serialization failure, deadlock, a concurrent insert of a
// unique key, SQLite's write lock held by another process). A race that survives its retries is reported as
// LEDGER_BUSY, which clients may retry; it is never reported as a business failure such as
// INSUFFICIENT_CREDITS.
//
// Money-moving writes run in raw SQL through the driver adapter (`runWrite`, see src/db/sql.ts: about a fifth
// of the Prisma client's CPU per statement); the directory's few writes (customers, stores, partners) still
// use the Prisma client (`runPrismaWrite`). Both share one pool, or SQLite's one write connection.
//
// Concurrency model: every money-moving write first locks the rows of the accounts it touches (see
// src/ledger/sql/accounts.ts), so writers on one account run one after the other, and the balance check and
// the inserts happen under that lock. PostgreSQL runs READ COMMITTED (its default, which the row locks are
// designed for: each statement after the lock sees what the previous lock holder committed); SQLite is
// serializable, with one writer at a time.
import { Prisma } from "../generated/postgres/client.ts";
import type { Database, TransactionClient } from "../db/client.ts";
import { isRetryableDatabaseFault } from "../db/faults.ts";
import type { Sql, SqlRunner } from "../db/sql.ts";
import { failure, isFailure, type LedgerFailure } from "./result.ts";

export interface TransactionSettings {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /**
   * How long to wait for a pooled connection before the attempt counts as lost. In `runWrite` it is checked
   * when the connection arrives, before the first statement: a late attempt sends nothing and rolls back.
   */
  maxWaitMs: number;
  /**
   * Upper bound on one transaction's run time. In `runWrite` it is checked before every statement, COMMIT
   * included: an attempt past it rolls back instead of sending more (never after its COMMIT was sent, so a
   * committed write is never reported as failed).
   */
  timeoutMs: number;
}

export const defaultTransactionSettings: TransactionSettings = { maxAttempts: 8, maxWaitMs: 5_000, timeoutMs: 15_000 };

/** Thrown inside a transaction to roll it back and hand a result to the caller. */
class Rollback extends Error {
  constructor(readonly result: unknown) {
    super("rollback");
  }
}

/**
 * Rolls the current transaction back and makes `runWrite` return this result: a business failure, or (for
 * an idempotent replay, which must write nothing) the result the transaction would have returned.
 */
export function rollback(result: unknown): never {
  throw new Rollback(result);
}

/** The business failure a thrown `rollback` carries, or null for anything else. */
export function refusalOf(error: unknown): LedgerFailure | null {
  return error instanceof Rollback && isFailure(error.result as LedgerFailure) ? (error.result as LedgerFailure) : null;
}

/** An attempt that waited too long for its connection or ran past its time: lost, like a race. */
class AttemptExpired extends Error {}

/** Runs a money-moving write in raw SQL (see the top of this file). */
export function runWrite<T>(
  database: Database,
  settings: TransactionSettings,
  /** The transaction's work; `attempt` counts from 1 (see withRetries). */
  work: (tx: SqlRunner, attempt: number) => Promise<T>,
): Promise<T | LedgerFailure> {
  return withRetries(settings, (attempt) => {
    const startedAt = performance.now();
    return database.transaction((tx) => work(withDeadlines(tx, startedAt, settings), attempt));
  });
}

/**
 * Checks the attempt's time before each statement: the first statement may start no later than maxWaitMs
 * after the attempt began (the wait for a pooled connection, or for SQLite's in-process transaction lock),
 * and none may start after timeoutMs.
 */
function withDeadlines(tx: SqlRunner, startedAt: number, settings: TransactionSettings): SqlRunner {
  let first = true;
  const check = () => {
    const elapsedMs = performance.now() - startedAt;
    if (first && elapsedMs > settings.maxWaitMs)
      throw new AttemptExpired(`no connection within ${settings.maxWaitMs} ms`);
    if (elapsedMs > settings.timeoutMs) throw new AttemptExpired(`the transaction ran past ${settings.timeoutMs} ms`);
    first = false;
  };
  return {
    query<R>(statement: Sql) {
      check();
      return tx.query<R>(statement);
    },
    execute(statement: Sql) {
      check();
      return tx.execute(statement);
    },
  };
}

/** Runs a write through the Prisma client (the directory's writes; see the top of this file). */
export function runPrismaWrite<T>(
  database: Database,
  settings: TransactionSettings,
  work: (tx: TransactionClient) => Promise<T>,
): Promise<T | LedgerFailure> {
  return withRetries(settings, () =>
    database.write.$transaction(
      async (tx) => {
        if (database.engine === "sqlite") await takeSqliteWriteLock(tx);
        return work(tx);
      },
      {
        // Row locks give the isolation the ledger needs; READ COMMITTED lets each statement after a lock see
        // the rows that the previous lock holder committed. SQLite transactions are always serializable.
        isolationLevel:
          database.engine === "postgres"
            ? Prisma.TransactionIsolationLevel.ReadCommitted
            : Prisma.TransactionIsolationLevel.Serializable,
        maxWait: settings.maxWaitMs,
        timeout: settings.timeoutMs,
      },
    ),
  );
}

async function withRetries<T>(
  settings: TransactionSettings,
  attempt: (attempt: number) => Promise<T>,
): Promise<T | LedgerFailure> {
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt(attempts);
    } catch (error) {
      if (error instanceof Rollback) return error.result as T | LedgerFailure;
      if (!isRetryable(error) && !isRetryableDatabaseFault(error)) throw error;
      if (attempts >= settings.maxAttempts) {
        return failure(
          "LEDGER_BUSY",
          null,
          "The ledger is busy with concurrent writes to the same accounts; nothing was written. Retry the request (with the same idempotency key).",
          { attempts: String(attempts) },
        );
      }
      // Full jitter keeps the retries of many losers from colliding again in lockstep.
      const ceilingMs = Math.min(250, 5 * 2 ** attempts);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs));
    }
  }
}

const retryableSqlStates = new Set([
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "55P03", // lock_not_available
  "23505", // unique_violation: the idempotency key is taken (a deferred action insert), or a concurrent insert
]);

const retryablePrismaCodes = new Set([
  "P2002", // unique constraint: same as 23505, surfaced by Prisma
  "P2028", // transaction API error: no connection within maxWait, or the transaction was closed
  "P2034", // write conflict or deadlock
]);

/**
 * Whether a thrown error means "lost a race, try again". Errors come from the driver adapter (raw SQL: a
 * DriverAdapterError whose `cause` holds the engine's code as `originalCode` and Prisma's `kind`), from the
 * Prisma client (a known request error whose `meta` holds the adapter's error), or are this module's own
 * AttemptExpired. A unique violation counts. A money-moving write hits one on a taken idempotency key only in
 * a first attempt that deferred its action's insert (see WriteSession.beginAction): the next attempt inserts
 * with `ON CONFLICT DO NOTHING` and answers from the original action. Otherwise the only unique key it can hit
 * is the one-reversal-per-action link, and on the next attempt the operation finds the winner's row and
 * answers from it (ALREADY_REVERSED).
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof AttemptExpired) return true;
  for (let current: unknown = error, depth = 0; current && depth < 6; depth++) {
    const record = current as {
      code?: unknown;
      originalCode?: unknown;
      kind?: unknown;
      meta?: { code?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown; kind?: unknown } } };
      cause?: unknown;
      message?: unknown;
    };
    if (
      typeof record.code === "string" &&
      (retryablePrismaCodes.has(record.code) || retryableSqlStates.has(record.code))
    ) {
      return true;
    }
    for (const adapterError of [record, record.meta?.driverAdapterError?.cause]) {
      if (adapterError && isRetryableAdapterError(adapterError)) return true;
    }
    if (typeof record.meta?.code === "string" && retryableSqlStates.has(record.meta.code)) return true;
    if (
      typeof record.message === "string" &&
      /SQLITE_BUSY|database is locked|could not serialize|deadlock detected/i.test(record.message)
    ) {
      return true;
    }
    current = record.cause;
  }
  return false;
}

/** The `cause` of a DriverAdapterError: the engine's own code and Prisma's classification of it. */
function isRetryableAdapterError(cause: { originalCode?: unknown; kind?: unknown }): boolean {
  const code = cause.originalCode;
  if (typeof code === "string" && (retryableSqlStates.has(code) || code.startsWith("SQLITE_BUSY"))) return true;
  return cause.kind === "TransactionWriteConflict" || cause.kind === "UniqueConstraintViolation";
}

/**
 * SQLite has one writer at a time per database file. Prisma opens transactions with a deferred BEGIN, which
 * takes the write lock only at the first write; a transaction that read first and then must upgrade fails at
 * once (SQLITE_BUSY_SNAPSHOT) when another process committed meanwhile. A no-op write as the very first
 * statement takes the write lock up front (what BEGIN IMMEDIATE does), so a second process simply waits for
 * it, up to the connection's busy timeout. Within one process the adapter already runs transactions one at a
 * time.
 */
async function takeSqliteWriteLock(tx: TransactionClient): Promise<void> {
  await tx.$executeRaw`UPDATE tenant SET name = name WHERE id = ''`;
}
