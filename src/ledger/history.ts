// The read side of account and customer histories: the entries of one account, or of all of a customer's
// accounts, filtered, ordered and paged (CareCloud's and Thought Industries' credit history, Stripe's credit
// balance transactions). Independent of GraphQL: the API layer wraps pages into Relay connections and maps
// HistoryArgumentError codes to user errors.
//
// Built for batching. A DataLoader collects the parents (say 50 customers each asking for their 20 latest
// entries) that share one filter, order and page request, and `readHistories` answers all of them with ONE
// SQL statement: per parent, its own `ORDER BY ... LIMIT page+1` subquery, all joined by UNION ALL. Each
// subquery walks the parent's (account or customer, key, id) index in the requested order and stops after
// the page and one more row (which tells whether more follow), so a page costs about the same on a history
// of twenty thousand entries as on one of twenty. A window over all of a parent's rows, cut to the page
// afterwards, would number every filtered row first and grow with the history instead.
// That holds for the orders and filters an index serves: the time and amount orders, and the type,
// direction, store and partner filters (which have (parent, column, effective time, id) indexes for the
// default order). Other filters are checked row by row along the index until the page is full, and orders
// by the action's fields (UPDATED_AT, NOTE, EXTERNAL_REFERENCE) or by text keys sort the parent's filtered
// rows. Offsets skip rows one by one (LIMIT n OFFSET k), so an offset page costs O(offset).
// `countHistories` is one GROUP BY statement, which does count every filtered row.
// Above `historyBatchLimits.parentsPerStatement` parents (or `boundValuesPerStatement` bound values) the
// work is split into more statements, so that no statement exceeds SQLite's limit of 500 terms in a
// compound SELECT or either engine's limit of bound parameters.
//
// Engine notes (the same statement runs on SQLite and PostgreSQL; only the text collation and the name of
// the substring function differ):
// - Text sort keys are compared by code point on both engines: PostgreSQL is told COLLATE "C", SQLite's
//   default BINARY collation already compares UTF-8 bytes, which orders the same way.
// - Enum columns sort by their names, alphabetically, on both engines: PostgreSQL enums would otherwise sort
//   by declaration order, so they are cast to text.
// - Times: PostgreSQL stores timestamp(3) in UTC. SQLite stores DateTime as ISO-8601 text in one fixed
//   width format ("2026-03-01T10:00:00.000+00:00"), and the driver adapter binds every Date parameter in
//   that same format, so comparing text compares instants. This holds for every time in 1970..9999 (the
//   range the ledger accepts), which is why filter bounds are clamped to that range before being bound.
//   The ledger always writes entry and action times explicitly, never through a CURRENT_TIMESTAMP default
//   (whose format differs).
// - Integers arrive as bigint from both drivers (SQLite's adapter reads safe integers); amounts are decoded
//   without ever passing through a JavaScript number.
import type { Database } from "../db/client.ts";
import { Prisma } from "../generated/postgres/client.ts";
import { inTextList } from "../db/sql.ts";
import { checkFilter, checkOrder, planPage } from "./history/arguments.ts";
import { assemblePages, dueParents, partOf, toBigInt } from "./history/rows.ts";
import {
  actionJoin,
  andAll,
  chunks,
  dueBranch,
  kindsOf,
  pageStatement,
  parentColumns,
  parentTables,
  type RawRow,
  uniqueParents,
} from "./history/statements.ts";
import {
  defaultHistoryOrder,
  historyBatchLimits,
  type HistoryFilter,
  type HistoryOrder,
  type HistoryPage,
  type HistoryPageRequest,
  type HistoryParent,
} from "./history/types.ts";

export * from "./history/types.ts";

/**
 * What a history read does about expirations that are due but not yet recorded. A read names the moment it
 * reads as of; when an account of a parent has a grant that lapsed by then (the account's `next_lapse_at`,
 * learnt in the same statement), `settle` is called with those parents and the read runs once more, so the
 * expirations show in the history. Without options the read is plain: lapsed grants show no EXPIRATION entry
 * until something settles them.
 */
export interface HistoryReadOptions {
  asOf: Date;
  settle(parents: HistoryParent[]): Promise<void>;
}

/**
 * Checks history arguments without reading anything: throws the HistoryArgumentError that `readHistories`
 * or `countHistories` would throw for them. Lets a caller refuse bad arguments even when it ends up reading
 * only a count, or nothing.
 */
export function checkHistoryArguments(
  engine: Database["engine"],
  filter: HistoryFilter,
  order: HistoryOrder,
  page: HistoryPageRequest,
): void {
  const checkedOrder = checkOrder(order);
  checkFilter(filter, engine);
  planPage(page, checkedOrder);
}

/**
 * One page of each parent's history, keyed by parent id; every parent asked for has a page (an empty one
 * when the id is unknown or belongs to another tenant). Throws HistoryArgumentError (or its subclass
 * HistoryCursorError) for refused arguments, before reading anything.
 *
 * Statements: one per `historyBatchLimits.parentsPerStatement` parents, whatever the page size (fewer parents
 * per statement when the filter's lists are long, see `boundValuesPerStatement`); none when no parent is
 * given; and the same again after a settlement (see HistoryReadOptions). Each page comes with its entries'
 * actions, stores and partners, read in the same statement.
 */
export async function readHistories(
  database: Database,
  tenantId: string,
  parents: readonly HistoryParent[],
  filter: HistoryFilter = {},
  order: HistoryOrder = defaultHistoryOrder,
  page: HistoryPageRequest = {},
  options: HistoryReadOptions | null = null,
): Promise<Map<string, HistoryPage>> {
  const checkedOrder = checkOrder(order);
  const conditions = checkFilter(filter, database.engine);
  const plan = planPage(page, checkedOrder);
  const unique = uniqueParents(parents);
  const pages = new Map<string, HistoryPage>();
  const statement = pageStatement(database.engine, tenantId, conditions, checkedOrder, plan, options?.asOf ?? null);
  for (const batch of chunks(unique, statement.parentsPerStatement)) {
    let rows = await database.reader.query<RawRow>(statement.build(batch));
    const due = options ? dueParents(batch, rows) : [];
    if (options && due.length > 0) {
      await options.settle(due);
      rows = await database.reader.query<RawRow>(statement.build(batch));
    }
    for (const [parentId, result] of assemblePages(batch, rows, checkedOrder, plan)) pages.set(parentId, result);
  }
  return pages;
}

/**
 * How many entries each parent's filtered history has, keyed by parent id (0 for an unknown id or another
 * tenant's). One statement per `historyBatchLimits.parentsPerStatement` parents, and the same again after a
 * settlement (see HistoryReadOptions).
 */
export async function countHistories(
  database: Database,
  tenantId: string,
  parents: readonly HistoryParent[],
  filter: HistoryFilter = {},
  options: HistoryReadOptions | null = null,
): Promise<Map<string, number>> {
  const conditions = checkFilter(filter, database.engine);
  const unique = uniqueParents(parents);
  const counts = new Map<string, number>(unique.map((parent) => [parent.id, 0]));
  for (const batch of chunks(unique, historyBatchLimits.parentsPerStatement)) {
    const groups = kindsOf(batch);
    const branches = groups.map(({ kind, ids }) => {
      const parentColumn = parentColumns[kind];
      // The tenant is checked on the parents, not on every entry: an entry's tenant is its account's and
      // customer's (verify checks it), and the count can then be read from the (parent, filter column, ...)
      // index alone, without visiting an entry's row (an index-only scan on PostgreSQL).
      return Prisma.sql`SELECT 0 AS part, ${parentColumn} AS parent_id, COUNT(*) AS total
        FROM credit_entry e ${conditions.joinsAction ? actionJoin : Prisma.empty}
        WHERE ${parentColumn} IN (
          SELECT p.id FROM ${parentTables[kind]} p
          WHERE ${inTextList(database.engine, Prisma.sql`p.id`, ids)} AND p.tenant_id = ${tenantId}
        )${andAll(conditions.sql)}
        GROUP BY ${parentColumn}`;
    });
    if (options) {
      for (const { kind, ids } of groups)
        branches.push(dueBranch(database.engine, kind, ids, tenantId, options.asOf, Prisma.sql`NULL AS total`));
    }
    const read = () =>
      database.reader.query<{ part: unknown; parentId: string; total: unknown }>(Prisma.join(branches, " UNION ALL "));
    let rows = await read();
    const due = options ? dueParents(batch, rows) : [];
    if (options && due.length > 0) {
      await options.settle(due);
      rows = await read();
    }
    for (const row of rows) if (partOf(row) === 0) counts.set(row.parentId, Number(toBigInt(row.total)));
  }
  return counts;
}
