// Runs one ledger write as one database transaction, with explicit isolation and timeouts, and retries it
// when the database says the transaction lost a race (serialization failure, deadlock, a concurrent insert of
// the same idempotency key). A race that survives its retries is reported as LEDGER_BUSY, which clients may
// retry; it is never reported as a business failure such as INSUFFICIENT_CREDITS.
//
// Concurrency model: every write first locks the rows of the accounts it touches (see `lockAccounts`), so
// writers on one account run one after the other, and the balance check and the inserts happen under that
// lock. On PostgreSQL the locks are taken in id order in a single statement, so two transfers in opposite
// directions cannot deadlock. On SQLite the whole database has one writer at a time.
import { Prisma } from "../generated/postgres/client.ts";
import type { Database, TransactionClient } from "../db/client.ts";
import { isRetryableDatabaseFault } from "../db/faults.ts";
import { failure, type LedgerFailure } from "./result.ts";

export interface TransactionSettings {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** How long to wait for a pooled connection before the attempt counts as lost. */
  maxWaitMs: number;
  /** Upper bound on one transaction's run time. */
  timeoutMs: number;
}

export const defaultTransactionSettings: TransactionSettings = { maxAttempts: 8, maxWaitMs: 5_000, timeoutMs: 15_000 };

/** Thrown inside a transaction to roll it back and hand a business failure to the caller. */
class Rollback extends Error {
  constructor(readonly result: LedgerFailure) {
    super(result.error.code);
  }
}

/** Rolls the current transaction back and makes `runWrite` return this failure. */
export function rollback(result: LedgerFailure): never {
  throw new Rollback(result);
}

export async function runWrite<T>(
  database: Database,
  settings: TransactionSettings,
  work: (tx: TransactionClient) => Promise<T>,
): Promise<T | LedgerFailure> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await database.write.$transaction(async (tx) => {
        if (database.engine === "sqlite") await takeSqliteWriteLock(tx);
        return work(tx);
      }, {
        // Row locks give the isolation the ledger needs; READ COMMITTED lets each statement after a lock see
        // the rows that the previous lock holder committed. SQLite transactions are always serializable.
        isolationLevel:
          database.engine === "postgres"
            ? Prisma.TransactionIsolationLevel.ReadCommitted
            : Prisma.TransactionIsolationLevel.Serializable,
        maxWait: settings.maxWaitMs,
        timeout: settings.timeoutMs,
      });
    } catch (error) {
      if (error instanceof Rollback) return error.result;
      if (!isRetryable(error) && !isRetryableDatabaseFault(error)) throw error;
      if (attempt >= settings.maxAttempts) {
        return failure(
          "LEDGER_BUSY",
          null,
          "The ledger is busy with concurrent writes to the same accounts; nothing was written. Retry the request (with the same idempotency key).",
          { attempts: String(attempt) },
        );
      }
      // Full jitter keeps the retries of many losers from colliding again in lockstep.
      const ceilingMs = Math.min(250, 5 * 2 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs));
    }
  }
}

const retryableSqlStates = new Set([
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "55P03", // lock_not_available
  "23505", // unique_violation: a concurrent writer inserted the same idempotency key first
]);

const retryablePrismaCodes = new Set([
  "P2002", // unique constraint: same as 23505, surfaced by Prisma
  "P2028", // transaction API error: no connection within maxWait, or the transaction was closed
  "P2034", // write conflict or deadlock
]);

/**
 * Whether a thrown database error means "lost a race, try again". A unique violation counts: the only
 * unique keys a ledger write can hit are the idempotency key and the one-reversal-per-action link, and on the
 * next attempt the operation finds the winner's row and answers from it (replay, reuse or ALREADY_REVERSED).
 */
export function isRetryable(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 6; depth++) {
    const record = current as {
      code?: unknown;
      meta?: { code?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown; kind?: unknown } } };
      cause?: unknown;
      message?: unknown;
    };
    if (typeof record.code === "string" && (retryablePrismaCodes.has(record.code) || retryableSqlStates.has(record.code))) {
      return true;
    }
    const adapterCause = record.meta?.driverAdapterError?.cause;
    if (adapterCause) {
      if (typeof adapterCause.originalCode === "string" && retryableSqlStates.has(adapterCause.originalCode)) return true;
      if (adapterCause.kind === "TransactionWriteConflict" || adapterCause.kind === "UniqueConstraintViolation") return true;
      if (typeof adapterCause.originalCode === "string" && adapterCause.originalCode.startsWith("SQLITE_BUSY")) return true;
    }
    if (typeof record.meta?.code === "string" && retryableSqlStates.has(record.meta.code)) return true;
    if (typeof record.message === "string" && /SQLITE_BUSY|database is locked|could not serialize|deadlock detected/i.test(record.message)) {
      return true;
    }
    current = record.cause;
  }
  return false;
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

/**
 * Locks the given accounts of the tenant for the rest of the transaction and returns the ids that exist.
 * PostgreSQL: row locks in id order. SQLite: the transaction already holds the database's write lock.
 */
export async function lockAccounts(
  tx: TransactionClient,
  engine: Database["engine"],
  tenantId: string,
  accountIds: readonly string[],
): Promise<Set<string>> {
  const ids = [...new Set(accountIds)].sort();
  if (ids.length === 0) return new Set();
  const rows =
    engine === "postgres"
      ? await tx.$queryRaw<{ id: string }[]>`
          SELECT id FROM credit_account
          WHERE tenant_id = ${tenantId} AND id IN (${Prisma.join(ids)})
          ORDER BY id
          FOR UPDATE`
      : await tx.$queryRaw<{ id: string }[]>`
          SELECT id FROM credit_account
          WHERE tenant_id = ${tenantId} AND id IN (${Prisma.join(ids)})`;
  return new Set(rows.map((row) => row.id));
}
