// The only place Prisma clients are built.
//
// One datamodel, two engines: SQLite (better-sqlite3, the embedded default) and PostgreSQL (the production
// engine). Both generated clients have the same models, so the rest of the code is written against one
// client type (the PostgreSQL one) and never asks which engine it runs on, except where SQL differs
// (row locks, see src/ledger/transaction.ts).
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient as PostgresPrismaClient, type Prisma } from "../generated/postgres/client.ts";
import { PrismaClient as SqlitePrismaClient } from "../generated/sqlite/client.ts";
import type { SqlDriverAdapter, SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import { type DatabaseEngine, databaseEngine } from "../config/database-url.ts";
import { guardAdapter } from "./guarded-adapter.ts";
import { createPool, defaultPoolSettings, type PoolStats, poolStats } from "./pool.ts";
import { inTransaction, type SqlRunner, sqlRunner } from "./sql.ts";

export type PrismaClient = PostgresPrismaClient;
export type TransactionClient = Prisma.TransactionClient;

export interface DatabaseOptions {
  /** PostgreSQL connection pool size per gateway process. */
  poolSize?: number;
  /** PostgreSQL: longest wait for a pooled or a new connection (see pool.ts). */
  connectTimeoutMs?: number;
  /** PostgreSQL: longest wait for one statement's answer (see pool.ts). */
  queryTimeoutMs?: number;
  /** PostgreSQL: prepare repeated statements once per connection (see pool.ts). */
  preparedStatements?: boolean;
  /** PostgreSQL: the connections' application_name, shown in pg_stat_activity. */
  applicationName?: string;
  /** How long a SQLite connection waits for another process's write lock before failing. */
  sqliteBusyTimeoutMs?: number;
  /** Called with every SQL statement sent (tests count them; operators may log them). */
  onQuery?: (event: { query: string; durationMs: number }) => void;
}

export interface Database {
  engine: DatabaseEngine;
  /** Runs write transactions. */
  write: PrismaClient;
  /**
   * Serves reads. On PostgreSQL it is the same client as `write` (a pool). On SQLite it is a second
   * connection: the writer's single connection would let a reader see a transaction's uncommitted rows,
   * while a separate connection in WAL mode sees only committed data and never blocks the writer.
   */
  read: PrismaClient;
  /** Raw SQL on the reading connection (see sql.ts), for the hot read paths. */
  reader: SqlRunner;
  /**
   * Runs `work` as one write transaction in raw SQL (see sql.ts) on the writing connection: BEGIN, the work,
   * COMMIT, or ROLLBACK when it throws.
   */
  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /** PostgreSQL: the pool's connections right now (metrics, tests); null on SQLite. */
  poolStats(): PoolStats | null;
  close(): Promise<void>;
}

export async function openDatabase(url: string, options: DatabaseOptions = {}): Promise<Database> {
  const engine = databaseEngine(url);
  if (engine === "postgres") {
    // The pool is built here, with every wait bounded (pool.ts), and every transaction gives its connection
    // back whatever fails (guarded-adapter.ts).
    const pool = createPool(url, {
      max: options.poolSize ?? defaultPoolSettings.max,
      connectTimeoutMs: options.connectTimeoutMs ?? defaultPoolSettings.connectTimeoutMs,
      queryTimeoutMs: options.queryTimeoutMs ?? defaultPoolSettings.queryTimeoutMs,
      applicationName: options.applicationName ?? defaultPoolSettings.applicationName,
      preparedStatements: options.preparedStatements ?? defaultPoolSettings.preparedStatements,
    });
    const adapter = guardAdapter(await new PrismaPg(pool).connect());
    const client = new PostgresPrismaClient({ adapter: sharing(adapter), log: queryLog(options) });
    attachQueryListener(client, options);
    try {
      await client.$connect();
    } catch (error) {
      await pool.end().catch(() => {});
      throw error;
    }
    let closing: Promise<void> | undefined;
    return {
      engine,
      write: client,
      read: client,
      reader: sqlRunner(adapter, engine, options.onQuery),
      transaction: (work) => inTransaction(adapter, engine, options.onQuery, work),
      poolStats: () => poolStats(pool),
      // The adapter leaves a pool it was given open; it is ended here, after the client.
      close: () =>
        (closing ??= (async () => {
          try {
            await client.$disconnect();
          } finally {
            await pool.end();
          }
        })()),
    };
  }

  // Two connections. The writer is shared by the Prisma client and the raw-SQL transactions, so that both
  // go through one adapter and its one-transaction-at-a-time lock: two connections of one process writing at
  // once would wait on each other inside SQLite's blocking busy handler, with the event loop stopped.
  const connect = () => new PrismaBetterSQLite3({ url, timeout: options.sqliteBusyTimeoutMs ?? 10_000 }).connect();
  const writeAdapter = guardAdapter(await connect());
  const readAdapter = guardAdapter(await connect());
  const sqliteClient = (adapter: SqlDriverAdapter): PrismaClient =>
    new SqlitePrismaClient({ adapter: sharing(adapter), log: queryLog(options) }) as unknown as PrismaClient;
  const write = sqliteClient(writeAdapter);
  const read = sqliteClient(readAdapter);
  // WAL lets the read connection see committed data while a write transaction is open; it is a property
  // of the file, so setting it once on the writer is enough. Foreign keys are per connection in SQLite.
  await write.$queryRawUnsafe("PRAGMA journal_mode = WAL");
  await write.$queryRawUnsafe("PRAGMA foreign_keys = ON");
  await read.$queryRawUnsafe("PRAGMA foreign_keys = ON");
  attachQueryListener(write, options);
  attachQueryListener(read, options);
  return {
    engine,
    write,
    read,
    reader: sqlRunner(readAdapter, engine, options.onQuery),
    transaction: (work) => inTransaction(writeAdapter, engine, options.onQuery, work),
    poolStats: () => null,
    close: async () => {
      await read.$disconnect();
      await write.$disconnect();
    },
  };
}

/** A factory that hands the Prisma client an adapter already connected, so raw SQL can use the same one. */
function sharing(adapter: SqlDriverAdapter): SqlDriverAdapterFactory {
  return { provider: adapter.provider, adapterName: adapter.adapterName, connect: async () => adapter };
}

function queryLog(options: DatabaseOptions): [{ emit: "event"; level: "query" }] | [] {
  return options.onQuery ? [{ emit: "event", level: "query" }] : [];
}

function attachQueryListener(client: PrismaClient, options: DatabaseOptions): void {
  const onQuery = options.onQuery;
  if (!onQuery) return;
  // The client was built with query events enabled exactly when onQuery is set; the cast only widens the
  // client's type-level event list, which depends on constructor options.
  (client as unknown as PostgresPrismaClient<"query">).$on("query", (event) =>
    onQuery({ query: event.query, durationMs: event.duration }),
  );
}
