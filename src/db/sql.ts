// Raw SQL through Prisma's driver adapters, for the measured hot paths (history pages, the loaders behind
// every nested read, the write path of money-moving operations, API-key lookups).
//
// Why not the Prisma client there: the 6.19 client compiles a query plan for every call on the main thread.
// Measured on PostgreSQL, one indexed lookup cost about 1.2 ms of CPU through `findMany`, 0.5 ms through
// `$queryRaw`, and 0.2 ms through the driver adapter this module uses; a nested read makes several such
// calls. The adapter is the same object the Prisma client sends its own SQL through (one pool, one SQLite
// connection), so both can be used side by side, and transactions opened here serialize with the client's
// on SQLite.
//
// Statements are built with Prisma's `sql` template tag (parameters are always bound, never spliced), and
// rows come back as objects whose keys are the camelCase names of the columns, the same shape as the
// Prisma models. Values are decoded by column conventions that the datamodel follows (checked by a test):
//   - 64-bit integers (amounts, balances, counts) are bigint, 32-bit ones (sequence, priority) numbers;
//   - times are Date (a computed time on SQLite is recognised by a name ending in `_at`);
//   - everything else is passed through (text, enums as their names, null).
import {
  type ColumnType,
  ColumnTypeEnum,
  type SqlDriverAdapter,
  type SqlQuery,
  type SqlQueryable,
  type Transaction,
} from "@prisma/driver-adapter-utils";
import { Prisma } from "../generated/postgres/client.ts";
import type { DatabaseEngine } from "../config/database-url.ts";

export type Sql = Prisma.Sql;
export const sql = Prisma.sql;
export const join = Prisma.join;
export const raw = Prisma.raw;
export const empty = Prisma.empty;

export interface SqlRunner {
  /** Runs a statement that returns rows, decoded as described at the top of this file. */
  query<T>(statement: Sql): Promise<T[]>;
  /** Runs a statement and returns the number of rows it changed. */
  execute(statement: Sql): Promise<number>;
}

export type QueryListener = (event: { query: string; durationMs: number }) => void;

/** Runs statements on a Prisma driver adapter or on one of its transactions. */
export function sqlRunner(queryable: SqlQueryable, engine: DatabaseEngine, onQuery?: QueryListener): SqlRunner {
  const prepare = (statement: Sql): SqlQuery => {
    const values = statement.values as unknown[];
    return {
      sql: engine === "postgres" ? statement.text : statement.sql,
      args: values.map(toArgument),
      argTypes: values.map((value) => (Array.isArray(value) ? listArgument : scalarArgument)),
    };
  };
  const timed = async <R>(query: SqlQuery, run: () => Promise<R>): Promise<R> => {
    if (!onQuery) return run();
    const startedAt = performance.now();
    try {
      return await run();
    } finally {
      onQuery({ query: query.sql, durationMs: performance.now() - startedAt });
    }
  };
  return {
    async query<T>(statement: Sql): Promise<T[]> {
      const query = prepare(statement);
      const result = await timed(query, () => queryable.queryRaw(query));
      return decodeRows(result.columnNames, result.columnTypes, result.rows) as T[];
    },
    async execute(statement: Sql): Promise<number> {
      const query = prepare(statement);
      return timed(query, () => queryable.executeRaw(query));
    },
  };
}

/**
 * Runs `work` in one transaction on the adapter: BEGIN, the work, COMMIT; ROLLBACK when it throws. The
 * connection always goes back to the adapter (the pool, or SQLite's transaction lock), also when the
 * connection itself died: a ROLLBACK that fails does not keep it.
 */
export async function inTransaction<T>(
  adapter: SqlDriverAdapter,
  engine: DatabaseEngine,
  onQuery: QueryListener | undefined,
  work: (tx: SqlRunner) => Promise<T>,
): Promise<T> {
  // PostgreSQL's adapter sends BEGIN, SQLite's a deferred BEGIN under its one-transaction-at-a-time lock. No
  // isolation level is named: PostgreSQL runs READ COMMITTED (its default, which the ledger's row locks are
  // designed for), SQLite is always serializable.
  const startedAt = performance.now();
  const transaction: Transaction = await adapter.startTransaction();
  onQuery?.({ query: "BEGIN", durationMs: performance.now() - startedAt });
  const runner = sqlRunner(transaction, engine, onQuery);
  let result: T;
  try {
    result = await work(runner);
    await runner.execute(sql`COMMIT`);
  } catch (error) {
    try {
      await runner.execute(sql`ROLLBACK`);
    } catch {
      // The connection is gone (or the transaction already ended); the pool discards a dead connection when
      // it is released below, and the database rolls back whatever it had.
    }
    await transaction.rollback();
    throw error;
  }
  await transaction.commit();
  return result;
}

const scalarArgument = { scalarType: "unknown", arity: "scalar" } as const;
const listArgument = { scalarType: "unknown", arity: "list" } as const;

function toArgument(value: unknown): unknown {
  // Both adapters bind Date, bigint, string, number, boolean and null themselves (Dates in the format each
  // engine stores, see src/ledger/history.ts).
  return value === undefined ? null : value;
}

const camelCaseNames = new Map<string, string>();

function camelCase(column: string): string {
  let name = camelCaseNames.get(column);
  if (name === undefined) {
    name = column.replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());
    camelCaseNames.set(column, name);
  }
  return name;
}

type Decoder = ((value: unknown) => unknown) | null;

const asTime = (value: unknown): Date => (value instanceof Date ? value : new Date(value as string));
const asBigInt = (value: unknown): bigint => (typeof value === "bigint" ? value : BigInt(value as string | number));
const asNumber = (value: unknown): number => Number(value);

/**
 * How a column's values are decoded, from the type the adapter reports. Both drivers hand 64-bit integers
 * over as text (PostgreSQL's int8, SQLite's integers read as safe integers); they become bigint here, never
 * a JavaScript number. SQLite reports no type for a computed column, and the adapter then guesses from the
 * value: a computed time (MIN(expires_at)) arrives as text, so a name ending in `_at` marks a time.
 */
function decoderOf(column: string, type: ColumnType | undefined): Decoder {
  switch (type) {
    case ColumnTypeEnum.Int64:
      return asBigInt;
    case ColumnTypeEnum.Int32:
    case ColumnTypeEnum.UnknownNumber:
      return asNumber;
    case ColumnTypeEnum.DateTime:
    case ColumnTypeEnum.Date:
      return asTime;
    case ColumnTypeEnum.Boolean:
      return (value) => value === true || value === 1 || value === "1" || value === "t";
    default:
      return column.endsWith("_at") ? asTime : null;
  }
}

function decodeRows(columnNames: string[], columnTypes: ColumnType[], rows: unknown[][]): Record<string, unknown>[] {
  const decode = rowDecoder(columnNames, columnTypes);
  const decoded: Record<string, unknown>[] = new Array(rows.length);
  for (let r = 0; r < rows.length; r++) decoded[r] = decode(rows[r] as unknown[]);
  return decoded;
}

type RowDecoder = (row: unknown[]) => Record<string, unknown>;

/**
 * One decoder per statement shape (column names and types). Our statements are a few dozen, but SQLite reports
 * the types of computed columns from their values, so one statement can have a few shapes: the cache is
 * emptied if it ever grows past a bound, rather than grow without one.
 */
const rowDecoders = new Map<string, RowDecoder>();
const maxRowDecoders = 1000;

/**
 * A function that turns one row (an array of column values) into an object. It is compiled once per column
 * list into a single object literal: objects built key by key with computed names, as a loop would, become
 * hash-table ("dictionary mode") objects in V8 past a dozen or so properties, and a history row has about 60
 * columns. Measured on the nested-read benchmark: that made the rows several times larger and slower to read,
 * and row decoding the largest allocator of a request. The keys are the camelCase column names of our own
 * statements, written as JSON string literals; values go through the column's decoder as before.
 */
function rowDecoder(columnNames: string[], columnTypes: ColumnType[]): RowDecoder {
  const cacheKey = `${columnNames.join(",")}|${columnTypes.join(",")}`;
  let decode = rowDecoders.get(cacheKey);
  if (decode === undefined) {
    const decoders = columnNames.map((column, index) => decoderOf(column, columnTypes[index]));
    const properties = columnNames.map((column, index) => {
      const value = `row[${index}]`;
      const decoded = decoders[index] ? `d[${index}](${value})` : value;
      return `${JSON.stringify(camelCase(column))}: ${value} === null || ${value} === undefined ? null : ${decoded}`;
    });
    const build = new Function("d", `return (row) => ({ ${properties.join(", ")} });`) as (
      decoders: Decoder[],
    ) => RowDecoder;
    decode = build(decoders);
    if (rowDecoders.size >= maxRowDecoders) rowDecoders.clear();
    rowDecoders.set(cacheKey, decode);
  }
  return decode;
}

/**
 * `column IN (values...)` for text values (ids). On PostgreSQL it is `column = ANY($1)` with one array
 * parameter, so the statement's text is the same whatever the number of values, and it is prepared once
 * (see src/db/pool.ts) instead of once per list length. SQLite has no arrays: one parameter per value.
 */
export function inTextList(engine: DatabaseEngine, column: Sql, values: readonly string[]): Sql {
  return engine === "postgres"
    ? sql`${column} = ANY(CAST(${[...values]} AS text[]))`
    : sql`${column} IN (${join(values)})`;
}

/** An EXISTS or comparison result as a boolean, whatever the engine returns for it (boolean, 0/1, bigint). */
export function truthy(value: unknown): boolean {
  return value === true || (value !== false && value !== null && value !== undefined && Number(value) !== 0);
}
