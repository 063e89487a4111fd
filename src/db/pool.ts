// The PostgreSQL connection pool, with every wait bounded.
//
// node-postgres's defaults wait forever: for a free connection, for a new connection, for a query's answer.
// Then a database that restarts or a network that stalls can leave every request of an instance waiting for
// good. So here:
//   - `connectionTimeoutMillis`: waiting for a pooled connection (all busy) or for a new one to be
//     established ends with an error after DATABASE_CONNECT_TIMEOUT_MS;
//   - `query_timeout`: a statement unanswered after DATABASE_QUERY_TIMEOUT_MS fails on the client side, and
//     its connection is discarded (it is still busy with the statement, so it cannot be reused);
//   - `keepAlive`: TCP keep-alive, so a connection whose peer vanished is noticed by the kernel while idle;
//   - `idleTimeoutMillis`: idle connections are closed after 60 s, so a pool refills with fresh ones after
//     a failover instead of keeping connections to a node that is gone (a node that is killed or restarted
//     closes them at once; this bounds the stalled ones). Not shorter: a new connection costs PostgreSQL a
//     process and cold caches, and its statements are prepared and planned again. With 10 s, every pause of a
//     few seconds in the traffic made the pool reconnect; in the bench (rounds of 10 s alternating with the
//     peer's) 60 s measured less database CPU per write (bench/RESULTS.md);
//   - `application_name`: the gateway's connections can be told apart in pg_stat_activity.
//
// Statements with parameters are prepared: each distinct statement text gets a name (the same name in every
// connection of the process), and node-postgres then parses it once per connection and afterwards only
// binds and executes it. PostgreSQL then skips parsing and analysis (the bench measured about half the
// database CPU per read), and planning too: each connection sets `plan_cache_mode = force_generic_plan`, so
// a statement is planned once per connection, for any parameter values. Left to choose (`auto`), PostgreSQL
// planned the gateway's statements anew at every execution: a generic plan's estimate assumes ten ids in
// every `= ANY($n)` list, so it never looked cheaper than a plan for the actual one or two, although both were
// the same index scans; a history count spent 0.8 ms of its 1 ms of database time planning (bench/RESULTS.md).
// The statements' values are ids, times, amounts and limits, not values whose frequency should change a plan.
// The number of names is bounded (`preparedStatementLimit`); statements beyond it run unnamed, so no
// connection accumulates prepared statements without limit. Two things come with it:
//   - PgBouncer in transaction mode before 1.21 (or without max_prepared_statements) cannot route prepared
//     statements: DATABASE_PREPARED_STATEMENTS=false turns them off;
//   - a migration that changes a table's columns makes PostgreSQL refuse a prepared `SELECT *` once
//     ("cached plan must not change result type"): that error discards the connection like a connection
//     fault (faults.ts), so a write retries on a fresh connection and a read answers 503 once.
// All of these are enforced by the client (application_name is a startup parameter that PgBouncer accepts),
// so they also work through PgBouncer, which refuses other startup parameters such as statement_timeout.
//
// A connection that failed (a connection error, a timeout, or a COMMIT or ROLLBACK that did not complete) is
// ended at once: it is never handed to the next request, and a pool slot never stays taken by it (see also
// guarded-adapter.ts, which makes sure every transaction's connection is released).
import pg from "pg";
import { isDatabaseUnavailable } from "./faults.ts";

export interface PoolSettings {
  /** Most connections at once. */
  max: number;
  /** Longest wait for a pooled or a new connection. */
  connectTimeoutMs: number;
  /** Longest wait for a statement's answer. */
  queryTimeoutMs: number;
  /** Shown in pg_stat_activity. */
  applicationName: string;
  /** Prepare statements with parameters once per connection (see above). */
  preparedStatements: boolean;
}

export const defaultPoolSettings: PoolSettings = {
  max: 10,
  connectTimeoutMs: 5_000,
  queryTimeoutMs: 15_000,
  applicationName: "credit-ledger-gateway",
  preparedStatements: true,
};

export interface PoolStats {
  /** Connections open (idle or in use). */
  total: number;
  idle: number;
  /** Requests waiting for a connection. */
  waiting: number;
}

export function createPool(url: string, settings: PoolSettings): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: settings.max,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    query_timeout: settings.queryTimeoutMs,
    idleTimeoutMillis: 60_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: settings.applicationName,
  });
  // An idle connection whose server went away emits an error; the pool has already dropped it. Without a
  // listener the error would end the process.
  pool.on("error", () => {});
  pool.on("connect", (client) => guardClient(client, settings.preparedStatements));
  return pool;
}

export function poolStats(pool: pg.Pool): PoolStats {
  return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
}

const endStatement = /^\s*(COMMIT|ROLLBACK|END|ABORT)\b/i;

/**
 * Ends a pooled connection as soon as one of its statements fails in a way that leaves the connection
 * unusable or its state unknown: a connection error, a client-side timeout (the statement is still running
 * on it), or a COMMIT/ROLLBACK that did not complete (the transaction may still be open). An ended connection
 * is removed from the pool when it is released, so its slot is free again for a new connection.
 */
function guardClient(client: pg.PoolClient, preparedStatements: boolean): void {
  // A checked-out connection that dies emits "error"; the transaction using it will see the failure on its
  // next statement. Without a listener the error would end the process.
  client.on("error", () => {});
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  // Queued before anything a request sends on the new connection (the pool hands it out after this event).
  // Session state: behind a transaction-mode PgBouncer it may not reach every server connection, which then
  // only plans as before. A failure changes nothing else.
  if (preparedStatements) (query("SET plan_cache_mode = force_generic_plan") as Promise<unknown>).catch(() => {});
  (client as { query: unknown }).query = (...args: unknown[]) => {
    if (preparedStatements) nameStatement(args[0]);
    const result = query(...args);
    if (!(result instanceof Promise)) return result; // the callback form: pg-pool's own pool.query, which
    // releases the connection with the error itself, and so discards it
    return result.catch((error: unknown) => {
      const first = args[0];
      const text = typeof first === "string" ? first : (first as { text?: unknown } | undefined)?.text;
      if (isDatabaseUnavailable(error) || (typeof text === "string" && endStatement.test(text))) {
        client.end().catch(() => {});
      }
      throw error;
    });
  };
}

/** Most statement texts that get a name; the process's statements are far fewer (see the top of this file). */
export const preparedStatementLimit = 500;
const statementNames = new Map<string, string>();

/** Gives a statement with parameters its process-wide name, unless it has one or the names are used up. */
function nameStatement(config: unknown): void {
  if (typeof config !== "object" || config === null) return;
  const statement = config as { text?: unknown; values?: unknown[]; name?: string };
  if (typeof statement.text !== "string" || !statement.values?.length || statement.name) return;
  let name = statementNames.get(statement.text);
  if (name === undefined) {
    if (statementNames.size >= preparedStatementLimit) return;
    name = `ledger_${statementNames.size + 1}`;
    statementNames.set(statement.text, name);
  }
  statement.name = name;
}
