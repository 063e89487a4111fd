// Makes every transaction of a Prisma driver adapter give its connection back, whatever fails.
//
// The driver adapters' transactions hold one connection (PostgreSQL: a pooled connection; SQLite: the
// adapter's one-transaction-at-a-time lock) until `commit()` or `rollback()` is called, and those two calls
// only release it: the COMMIT or ROLLBACK statement itself is sent before them, by the Prisma client's
// transaction manager or by `inTransaction` (sql.ts). The Prisma 6.19 client sends that statement and calls
// `rollback()` only if the statement succeeded. On a connection that died (a database restart,
// pg_terminate_backend, a failover) the statement fails, `rollback()` is never called, and the pool slot is
// lost for good; once every slot is lost, every query of the process waits forever. This was reproduced
// with a pool of 2 and a restart under concurrent writes, with @prisma/adapter-pg 6.19.3 and 7.10.1 alike.
//
// The wrapper below releases the connection itself as soon as a COMMIT or ROLLBACK statement fails, makes
// later `commit()`/`rollback()` calls no-ops, and refuses statements on a released transaction. A COMMIT
// that failed because the connection did is reported as `CommitOutcomeUnknownError` (see faults.ts).
import type { SqlDriverAdapter, SqlQuery, Transaction } from "@prisma/driver-adapter-utils";
import { CommitOutcomeUnknownError, ConnectionDiscardedError, isDatabaseUnavailable } from "./faults.ts";

const endStatement = /^\s*(COMMIT|ROLLBACK|END|ABORT)\b/i;

export function guardAdapter(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const guarded: SqlDriverAdapter = {
    provider: adapter.provider,
    adapterName: adapter.adapterName,
    queryRaw: (query) => adapter.queryRaw(query),
    executeRaw: (query) => adapter.executeRaw(query),
    executeScript: (script) => adapter.executeScript(script),
    startTransaction: async (isolationLevel) => guardTransaction(await adapter.startTransaction(isolationLevel)),
    dispose: () => adapter.dispose(),
  };
  const connectionInfo = adapter.getConnectionInfo;
  if (connectionInfo) guarded.getConnectionInfo = () => connectionInfo.call(adapter);
  return guarded;
}

export function guardTransaction(transaction: Transaction): Transaction {
  let released: Promise<void> | undefined;
  const release = (how: "commit" | "rollback"): Promise<void> =>
    (released ??= how === "commit" ? transaction.commit() : transaction.rollback());

  const run = async <R>(query: SqlQuery, send: () => Promise<R>): Promise<R> => {
    if (released) throw new ConnectionDiscardedError("the transaction has already ended and released its connection");
    const ending = endStatement.exec(query.sql)?.[1]?.toUpperCase();
    try {
      return await send();
    } catch (error) {
      if (ending) {
        // The pool has ended a connection whose COMMIT or ROLLBACK failed (pool.ts), so releasing it frees
        // the slot; the server rolls back whatever the dead session had open.
        await release("rollback").catch(() => {});
        if (ending === "COMMIT" && isDatabaseUnavailable(error)) throw new CommitOutcomeUnknownError(error);
      }
      throw error;
    }
  };

  return {
    provider: transaction.provider,
    adapterName: transaction.adapterName,
    options: transaction.options,
    queryRaw: (query) => run(query, () => transaction.queryRaw(query)),
    executeRaw: (query) => run(query, () => transaction.executeRaw(query)),
    commit: () => release("commit"),
    rollback: () => release("rollback"),
  };
}
