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
import { type CreditAction, type CreditEntry, type Partner, Prisma, type Store } from "../generated/postgres/client.ts";
import { ActionType, EntryDirection, InitiatorType } from "../generated/postgres/enums.ts";
import { int64Max, int64Min } from "./amounts.ts";
import { foldForSearch, isStorableText, limits } from "./validation.ts";

// ---------------------------------------------------------------------------------------------------------
// Public types

/** Whose history: one account's entries, or the entries of all accounts of one customer. */
export type HistoryParent = { kind: "account" | "customer"; id: string };

/**
 * Which entries to list. Every condition given must hold. An empty list (types: []) matches no entry, as an
 * `in: []` does in Prisma; leave a condition out to not filter on it.
 */
export interface HistoryFilter {
  types?: ActionType[] | null;
  /** Relative to the entry's account: CREDIT added credits to it, DEBIT took them. */
  direction?: EntryDirection | null;
  /**
   * Case-insensitive literal substring of the action's note: %, _, quotes and backslashes mean themselves.
   * Compared after the same folding the ledger applies to stored notes (see foldForSearch). An empty string
   * does not filter; entries without a note never match a non-empty one.
   */
  noteContains?: string | null;
  /** Effective time: from inclusive, to exclusive. */
  effectiveFrom?: Date | null;
  effectiveTo?: Date | null;
  /** Recording time: from inclusive, to exclusive. */
  createdFrom?: Date | null;
  createdTo?: Date | null;
  storeIds?: string[] | null;
  partnerIds?: string[] | null;
  /** Entries of actions that credited or consumed this grant (an allocation), or that expired or voided it. */
  grantId?: string | null;
  initiatorTypes?: InitiatorType[] | null;
  /** The entry's amount (always positive), inclusive bounds. */
  amountMin?: bigint | null;
  amountMax?: bigint | null;
}

export const historyOrderFields = [
  "EFFECTIVE_AT",
  "CREATED_AT",
  "UPDATED_AT",
  "AMOUNT",
  "TYPE",
  "DIRECTION",
  "NOTE",
  "EXTERNAL_REFERENCE",
  "INITIATOR_TYPE",
  "CURRENCY",
  "ID",
] as const;

/**
 * What a history is sorted by. The entry id always follows as the last key, in the same direction, so the
 * order is total and stable and pages never overlap. In detail:
 * - EFFECTIVE_AT, CREATED_AT: the entry's times; UPDATED_AT: the action's last change (a reversal touches
 *   the action it reverses, so an entry can move in this order between two page requests).
 * - AMOUNT: the entry's amount, which is always positive whatever the direction.
 * - TYPE, DIRECTION, INITIATOR_TYPE: alphabetically by the enum value's name.
 * - CURRENCY: by code, code point order.
 * - NOTE: by the folded note (case-insensitive), code point order; EXTERNAL_REFERENCE: by the reference,
 *   code point order. An action without a note or reference sorts as the empty string: first in ascending
 *   order, last in descending order, on both engines.
 * - ID: the entry id alone; ids are UUIDv7, so this is also recording order.
 */
export type HistoryOrderField = (typeof historyOrderFields)[number];

export interface HistoryOrder {
  field: HistoryOrderField;
  direction: "ASC" | "DESC";
}

/** Latest first: what a statement or an app's activity list shows. */
export const defaultHistoryOrder: HistoryOrder = { field: "EFFECTIVE_AT", direction: "DESC" };

/**
 * Relay arguments, plus `offset` for page-numbered APIs (CareCloud's offset, Thought Industries' page:
 * offset = (page - 1) * perPage). `first`/`after` page forward, `last`/`before` page backward. `offset` goes
 * with `first` or alone, never with a cursor or `last`. Null counts as absent, as GraphQL passes it.
 */
export interface HistoryPageRequest {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
  offset?: number | null;
}

export interface HistoryPage {
  /** In the requested order, also when paging backward. */
  entries: CreditEntry[];
  /** The action of each entry, same positions: read in the same statement, so that listing costs nothing more. */
  actions: CreditAction[];
  /** The stores and partners those actions name, each once. */
  stores: Store[];
  partners: Partner[];
  /** One opaque cursor per entry, same positions. */
  cursors: string[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export const historyPageLimits = { default: 20, max: 100 } as const;

export const historyBatchLimits = {
  /**
   * Parents answered by one statement; a larger batch costs one more statement per this many parents. Each
   * parent is one term of a compound SELECT (UNION ALL), and SQLite allows at most 500 terms in one, two of
   * which the boundary checks may take.
   */
  parentsPerStatement: 200,
  /**
   * Bound values in one page statement. Each parent's subquery repeats the filter's values, so a filter with
   * long lists lowers the parents per statement below parentsPerStatement, keeping every statement under
   * SQLite's 32,766 bound parameters (PostgreSQL allows 65,535).
   */
  boundValuesPerStatement: 30_000,
  /** Values in one list filter (types, storeIds, partnerIds, initiatorTypes). */
  filterValues: 100,
  /** Characters of a note query: a longer one could not match any note the ledger accepts. */
  noteQueryLength: limits.noteLength,
} as const;

// ---------------------------------------------------------------------------------------------------------
// Errors

/** Stable codes of refused history arguments; the GraphQL layer exposes them as user error codes. */
export const historyErrorCodes = [
  /** first or last is not a whole number from 1 to historyPageLimits.max. */
  "PAGE_SIZE_OUT_OF_RANGE",
  /** offset is not a whole number of zero or more. */
  "OFFSET_OUT_OF_RANGE",
  /** A combination of paging arguments that has no meaning (first with last, offset with a cursor...). */
  "INVALID_PAGINATION",
  /** A cursor that does not decode, or that was made for another order. */
  "INVALID_CURSOR",
  /** A filter value of the wrong kind (an unknown enum value, an invalid date, too many values...). */
  "INVALID_FILTER",
  /** An unknown order field or direction. */
  "INVALID_ORDER",
] as const;

export type HistoryErrorCode = (typeof historyErrorCodes)[number];

/** A refused argument. Nothing was read. `field` names the argument (e.g. "first", "filter.types"). */
export class HistoryArgumentError extends Error {
  constructor(
    readonly code: HistoryErrorCode,
    readonly field: string,
    message: string,
    readonly params: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HistoryArgumentError";
  }
}

/** A cursor that does not decode or belongs to another order. Its code is INVALID_CURSOR. */
export class HistoryCursorError extends HistoryArgumentError {
  // `declare` narrows the inherited property's type without emitting a class field, which would reset it.
  declare readonly field: "after" | "before";

  constructor(field: "after" | "before", message: string) {
    super("INVALID_CURSOR", field, message);
    this.name = "HistoryCursorError";
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reading

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
export function checkHistoryArguments(engine: Database["engine"], filter: HistoryFilter, order: HistoryOrder, page: HistoryPageRequest): void {
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
      return Prisma.sql`SELECT 0 AS part, ${parentColumn} AS parent_id, COUNT(*) AS total
        FROM credit_entry e ${conditions.joinsAction ? actionJoin : Prisma.empty}
        WHERE e.tenant_id = ${tenantId} AND ${parentColumn} IN (${Prisma.join(ids)})${andAll(conditions.sql)}
        GROUP BY ${parentColumn}`;
    });
    if (options) {
      for (const { kind, ids } of groups) branches.push(dueBranch(kind, ids, tenantId, options.asOf, Prisma.sql`NULL AS total`));
    }
    const read = () => database.reader.query<{ part: unknown; parentId: string; total: unknown }>(Prisma.join(branches, " UNION ALL "));
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

// ---------------------------------------------------------------------------------------------------------
// Arguments

interface CheckedFilter {
  /** SQL conditions on `e` (credit_entry) and, when joinsAction, `a` (credit_action). */
  sql: Prisma.Sql[];
  joinsAction: boolean;
}

const actionTypes = new Set<string>(Object.values(ActionType));
const entryDirections = new Set<string>(Object.values(EntryDirection));
const initiatorTypes = new Set<string>(Object.values(InitiatorType));

/** The instants the ledger can hold (see checkDate in validation.ts); also where ISO text stays fixed width. */
const earliestTime = 0;
const latestTime = 253_402_300_799_999;

const nothing = Prisma.sql`1 = 0`;

function checkFilter(filter: HistoryFilter, engine: Database["engine"]): CheckedFilter {
  const sql: Prisma.Sql[] = [];
  let joinsAction = false;

  const list = <T extends string>(values: T[] | null | undefined, field: string, allowed: Set<string> | null, column: Prisma.Sql) => {
    if (values === undefined || values === null) return;
    if (!Array.isArray(values)) throw invalidFilter(field, "must be a list");
    if (values.length > historyBatchLimits.filterValues) {
      throw invalidFilter(field, `may have at most ${historyBatchLimits.filterValues} values`, { max: String(historyBatchLimits.filterValues) });
    }
    for (const value of values) {
      if (typeof value !== "string" || (allowed && !allowed.has(value))) {
        throw invalidFilter(field, `has an unknown value "${String(value).slice(0, 40)}"`);
      }
    }
    // `IN ()` is not valid SQL, and an empty list matches nothing.
    sql.push(values.length === 0 ? nothing : Prisma.sql`${column} IN (${Prisma.join([...new Set(values)])})`);
  };
  list(filter.types, "filter.types", actionTypes, Prisma.sql`e.type`);
  list(filter.initiatorTypes, "filter.initiatorTypes", initiatorTypes, Prisma.sql`e.initiator_type`);
  list(filter.storeIds, "filter.storeIds", null, Prisma.sql`e.store_id`);
  list(filter.partnerIds, "filter.partnerIds", null, Prisma.sql`e.partner_id`);

  if (filter.direction !== undefined && filter.direction !== null) {
    if (!entryDirections.has(filter.direction)) throw invalidFilter("filter.direction", "must be CREDIT or DEBIT");
    sql.push(Prisma.sql`e.direction = ${filter.direction}`);
  }

  if (filter.noteContains !== undefined && filter.noteContains !== null) {
    if (typeof filter.noteContains !== "string") throw invalidFilter("filter.noteContains", "must be text");
    if (!isStorableText(filter.noteContains)) throw invalidFilter("filter.noteContains", "contains a character no note can hold");
    if ([...filter.noteContains].length > historyBatchLimits.noteQueryLength) {
      throw invalidFilter("filter.noteContains", `may have at most ${historyBatchLimits.noteQueryLength} characters`, {
        max: String(historyBatchLimits.noteQueryLength),
      });
    }
    const folded = foldForSearch(filter.noteContains);
    if (folded !== "") {
      // instr/strpos look for the text itself: unlike LIKE, no character is a wildcard or an escape, so the
      // query needs no escaping and means the same on both engines. Both sides are folded alike by the
      // ledger, so a plain (binary) comparison is the case-insensitive one.
      joinsAction = true;
      sql.push(Prisma.sql`${substringPosition(Prisma.sql`a.note_search`, folded, engine)} > 0`);
    }
  }

  timeRange(sql, filter.effectiveFrom, filter.effectiveTo, "filter.effectiveFrom", "filter.effectiveTo", Prisma.sql`e.effective_at`);
  timeRange(sql, filter.createdFrom, filter.createdTo, "filter.createdFrom", "filter.createdTo", Prisma.sql`e.created_at`);

  const amountBound = (value: bigint | null | undefined, field: string, comparison: ">=" | "<=") => {
    if (value === undefined || value === null) return;
    if (typeof value !== "bigint") throw invalidFilter(field, "must be a whole number");
    // Bounds beyond the 64-bit range are clamped: they cannot be bound as parameters, and every amount lies
    // within it anyway.
    if (comparison === ">=") {
      if (value > int64Max) sql.push(nothing);
      else if (value > int64Min) sql.push(Prisma.sql`e.amount >= ${value}`);
    } else {
      if (value < int64Min) sql.push(nothing);
      else if (value < int64Max) sql.push(Prisma.sql`e.amount <= ${value}`);
    }
  };
  amountBound(filter.amountMin, "filter.amountMin", ">=");
  amountBound(filter.amountMax, "filter.amountMax", "<=");

  if (filter.grantId !== undefined && filter.grantId !== null) {
    if (typeof filter.grantId !== "string") throw invalidFilter("filter.grantId", "must be an id");
    joinsAction = true;
    sql.push(Prisma.sql`(a.grant_id = ${filter.grantId} OR EXISTS (
      SELECT 1 FROM credit_allocation al WHERE al.action_id = e.action_id AND al.grant_id = ${filter.grantId}))`);
  }
  return { sql, joinsAction };
}

function timeRange(
  sql: Prisma.Sql[],
  from: Date | null | undefined,
  to: Date | null | undefined,
  fromField: string,
  toField: string,
  column: Prisma.Sql,
): void {
  const fromTime = timeOf(from, fromField);
  const toTime = timeOf(to, toField);
  // Clamped to the range every stored time lies in, so that SQLite's text comparison stays exact (a year
  // beyond 9999 would not print in the fixed-width format) and no bound is useless work.
  if (fromTime !== null && fromTime > latestTime) sql.push(nothing);
  else if (fromTime !== null && fromTime > earliestTime) sql.push(Prisma.sql`${column} >= ${new Date(fromTime)}`);
  if (toTime !== null && toTime <= earliestTime) sql.push(nothing);
  else if (toTime !== null && toTime <= latestTime) sql.push(Prisma.sql`${column} < ${new Date(toTime)}`);
}

function timeOf(value: Date | null | undefined, field: string): number | null {
  if (value === undefined || value === null) return null;
  const time = value instanceof Date ? value.getTime() : Number.NaN;
  if (!Number.isFinite(time)) throw invalidFilter(field, "must be a valid date-time");
  return time;
}

function invalidFilter(field: string, problem: string, params: Record<string, string> = {}): HistoryArgumentError {
  return new HistoryArgumentError("INVALID_FILTER", field, `The filter ${field.replace(/^filter\./, "")} ${problem}.`, params);
}

function checkOrder(order: HistoryOrder): HistoryOrder {
  if (!order || !(historyOrderFields as readonly string[]).includes(order.field)) {
    throw new HistoryArgumentError("INVALID_ORDER", "orderBy.field", `The order field must be one of ${historyOrderFields.join(", ")}.`);
  }
  if (order.direction !== "ASC" && order.direction !== "DESC") {
    throw new HistoryArgumentError("INVALID_ORDER", "orderBy.direction", "The order direction must be ASC or DESC.");
  }
  return { field: order.field, direction: order.direction };
}

/** A decoded cursor: the position of one entry in the order. */
interface Position {
  /** The sort key's value, typed for binding (null for the ID order, where the id is the whole key). */
  value: Date | bigint | string | null;
  id: string;
}

interface PagePlan {
  /** Paging forward (first/after/offset) or backward (last/before). */
  forward: boolean;
  limit: number;
  offset: number;
  /** `after` when paging forward, `before` when paging backward. */
  cursor: Position | null;
}

function planPage(page: HistoryPageRequest, order: HistoryOrder): PagePlan {
  const given = (value: unknown) => value !== undefined && value !== null;
  const refuse = (field: string, message: string) => new HistoryArgumentError("INVALID_PAGINATION", field, message);
  if (given(page.first) && given(page.last)) throw refuse("last", "Give either first (to page forward) or last (to page backward), not both.");
  if (given(page.after) && given(page.before)) throw refuse("before", "Give either after (with first) or before (with last), not both.");
  if (given(page.offset)) {
    for (const field of ["after", "before", "last"] as const) {
      if (given(page[field])) throw refuse("offset", `offset counts from the start of the list; it cannot be combined with ${field}.`);
    }
  }
  if (given(page.after) && given(page.last)) throw refuse("after", "after pages forward and goes with first; use before with last.");
  if (given(page.before) && given(page.first)) throw refuse("before", "before pages backward and goes with last; use after with first.");

  const forward = !given(page.last) && !given(page.before);
  const sizeField = forward ? "first" : "last";
  const limit = pageSize(forward ? page.first : page.last, sizeField);
  const offset = page.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new HistoryArgumentError("OFFSET_OUT_OF_RANGE", "offset", "offset must be a whole number of zero or more.");
  }
  const cursorField = forward ? "after" : "before";
  const cursorText = forward ? page.after : page.before;
  const cursor = given(cursorText) ? decodeCursor(cursorText as string, order, cursorField) : null;
  return { forward, limit, offset, cursor };
}

function pageSize(value: number | null | undefined, field: "first" | "last"): number {
  if (value === undefined || value === null) return historyPageLimits.default;
  if (!Number.isInteger(value) || value < 1 || value > historyPageLimits.max) {
    throw new HistoryArgumentError("PAGE_SIZE_OUT_OF_RANGE", field, `${field} must be a whole number from 1 to ${historyPageLimits.max}.`, {
      min: "1",
      max: String(historyPageLimits.max),
    });
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------------
// Cursors: base64url of the JSON [order field, direction, sort value, entry id]. The sort value is text:
// ISO-8601 for times, decimal digits for amounts, the sort text itself otherwise, the id for the ID order.

type SortKind = "time" | "amount" | "text" | "id";

const sortKinds: Record<HistoryOrderField, SortKind> = {
  EFFECTIVE_AT: "time",
  CREATED_AT: "time",
  UPDATED_AT: "time",
  AMOUNT: "amount",
  TYPE: "text",
  DIRECTION: "text",
  NOTE: "text",
  EXTERNAL_REFERENCE: "text",
  INITIATOR_TYPE: "text",
  CURRENCY: "text",
  ID: "id",
};

/** Far above any real cursor (a note of 1000 characters folds to a few kilobytes), and bounds the work. */
const maxCursorLength = 65_536;
const maxIdLength = 100;

function encodeCursor(order: HistoryOrder, sortValue: string, id: string): string {
  return Buffer.from(JSON.stringify([order.field, order.direction, sortValue, id]), "utf8").toString("base64url");
}

const entryIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function decodeCursor(text: string, order: HistoryOrder, field: "after" | "before"): Position {
  const invalid = (why: string) => new HistoryCursorError(field, `The ${field} cursor ${why}; use a cursor from this history and order.`);
  if (typeof text !== "string" || text.length === 0 || text.length > maxCursorLength || !/^[A-Za-z0-9_-]+$/.test(text)) {
    throw invalid("is not a cursor of this history");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    throw invalid("is not a cursor of this history");
  }
  if (!Array.isArray(parsed) || parsed.length !== 4 || !parsed.every((part) => typeof part === "string")) {
    throw invalid("is not a cursor of this history");
  }
  const [cursorField, direction, value, id] = parsed as [string, string, string, string];
  if (cursorField !== order.field || direction !== order.direction) {
    throw invalid(`was made for the order ${cursorField} ${direction}, not ${order.field} ${order.direction}`);
  }
  // Entry ids are UUIDs, and a text key must be text the database can hold: anything else was not made
  // here, and must not reach the database as a parameter (PostgreSQL refuses NUL in text).
  if (id.length === 0 || id.length > maxIdLength || !entryIdPattern.test(id)) throw invalid("is not a cursor of this history");
  switch (sortKinds[order.field]) {
    case "time": {
      const time = Date.parse(value);
      // Only the exact form the encoder writes is accepted, which also keeps the time within 1970..9999.
      if (!Number.isFinite(time) || new Date(time).toISOString() !== value || time < earliestTime || time > latestTime) {
        throw invalid("is not a cursor of this history");
      }
      return { value: new Date(time), id };
    }
    case "amount": {
      if (!/^-?[0-9]{1,19}$/.test(value)) throw invalid("is not a cursor of this history");
      const amount = BigInt(value);
      if (amount > int64Max || amount < int64Min) throw invalid("is not a cursor of this history");
      return { value: amount, id };
    }
    case "text":
      if (!isStorableText(value)) throw invalid("is not a cursor of this history");
      return { value, id };
    case "id":
      return { value: null, id };
  }
}

// ---------------------------------------------------------------------------------------------------------
// SQL

/** The entry columns read, in this order, by every branch of a page statement. */
const entryColumns = [
  "id",
  "tenant_id",
  "action_id",
  "account_id",
  "customer_id",
  "sequence",
  "direction",
  "amount",
  "balance_before",
  "balance_after",
  "type",
  "currency",
  "store_id",
  "partner_id",
  "initiator_type",
  "effective_at",
  "created_at",
] as const;

/** The action, store and partner columns each page row carries, under the prefixes ja_, js_ and jp_. */
const actionColumns = [
  "id",
  "tenant_id",
  "type",
  "amount",
  "currency",
  "source_account_id",
  "target_account_id",
  "grant_id",
  "store_id",
  "partner_id",
  "initiator_id",
  "initiator_type",
  "api_key_id",
  "note",
  "note_search",
  "external_reference",
  "idempotency_key",
  "request_hash",
  "reverses_action_id",
  "effective_at",
  "created_at",
  "updated_at",
] as const;
const placeColumns = ["id", "tenant_id", "external_id", "name", "created_at", "updated_at"] as const;

/** A row of a page statement, with the camelCase keys the SQL runner gives (see src/db/sql.ts). */
type RawRow = Record<string, unknown> & { part: unknown; parentId: string; sortKey: unknown; rn: unknown };

const parentColumns = {
  account: Prisma.raw("e.account_id"),
  customer: Prisma.raw("e.customer_id"),
} as const;

/**
 * The parent's own table: one row per parent for the boundary check, found by primary key. The tenant is
 * checked on the entries inside the EXISTS; checking it on the parent too made SQLite scan the tenant's
 * index of parents instead of looking the few ids up.
 */
const parentTables = {
  account: Prisma.raw("credit_account"),
  customer: Prisma.raw("customer"),
} as const;

const actionJoin = Prisma.sql`JOIN credit_action a ON a.id = e.action_id`;

/** Where `needle` occurs in `haystack` (1-based, 0 when absent), by SQL built-ins that treat no character specially. */
function substringPosition(haystack: Prisma.Sql, needle: string, engine: Database["engine"]): Prisma.Sql {
  return Prisma.sql`${Prisma.raw(engine === "postgres" ? "strpos" : "instr")}(${haystack}, ${needle})`;
}

/** Text compared by code point on both engines (see the notes at the top). */
function codePointText(expression: Prisma.Sql, engine: Database["engine"]): Prisma.Sql {
  return engine === "postgres" ? Prisma.sql`${expression} COLLATE "C"` : expression;
}

/** The SQL sort key of an order, or null for the ID order (the id alone). */
function sortKey(field: HistoryOrderField, engine: Database["engine"]): Prisma.Sql | null {
  switch (field) {
    case "EFFECTIVE_AT":
      return Prisma.sql`e.effective_at`;
    case "CREATED_AT":
      return Prisma.sql`e.created_at`;
    case "UPDATED_AT":
      return Prisma.sql`a.updated_at`;
    case "AMOUNT":
      return Prisma.sql`e.amount`;
    case "TYPE":
      return codePointText(Prisma.sql`CAST(e.type AS TEXT)`, engine);
    case "DIRECTION":
      return codePointText(Prisma.sql`CAST(e.direction AS TEXT)`, engine);
    case "INITIATOR_TYPE":
      return codePointText(Prisma.sql`CAST(e.initiator_type AS TEXT)`, engine);
    case "CURRENCY":
      return codePointText(Prisma.sql`e.currency`, engine);
    // Nulls become the empty string, which no stored note or reference is (the ledger stores those as null),
    // so they sort first ascending and last descending on both engines.
    case "NOTE":
      return codePointText(Prisma.sql`COALESCE(a.note_search, '')`, engine);
    case "EXTERNAL_REFERENCE":
      return codePointText(Prisma.sql`COALESCE(a.external_reference, '')`, engine);
    case "ID":
      return null;
  }
}

function orderJoinsAction(field: HistoryOrderField): boolean {
  return field === "UPDATED_AT" || field === "NOTE" || field === "EXTERNAL_REFERENCE";
}

type Direction = "ASC" | "DESC";
const reverse = (direction: Direction): Direction => (direction === "ASC" ? "DESC" : "ASC");

/** ORDER BY terms: the sort key, then the id, both in the same direction. */
function orderTerms(key: Prisma.Sql | null, direction: Direction): Prisma.Sql {
  const dir = Prisma.raw(direction);
  return key ? Prisma.sql`${key} ${dir}, e.id ${dir}` : Prisma.sql`e.id ${dir}`;
}

/**
 * The rows on one side of a position, in a direction: ">" is "after it when sorting ascending". A row
 * value comparison, which both engines evaluate lexicographically and serve from an index on (key, id).
 */
function positionCondition(key: Prisma.Sql | null, position: Position, comparison: ">" | "<" | ">=" | "<="): Prisma.Sql {
  const op = Prisma.raw(comparison);
  return key ? Prisma.sql`(${key}, e.id) ${op} (${position.value}, ${position.id})` : Prisma.sql`e.id ${op} ${position.id}`;
}

/** Strictly after the position when walking in `direction`. */
function after(key: Prisma.Sql | null, position: Position, direction: Direction): Prisma.Sql {
  return positionCondition(key, position, direction === "ASC" ? ">" : "<");
}

/** At the position or before it when walking in `direction`: the complement of `after`. */
function atOrBefore(key: Prisma.Sql | null, position: Position, direction: Direction): Prisma.Sql {
  return positionCondition(key, position, direction === "ASC" ? "<=" : ">=");
}

function andAll(conditions: Prisma.Sql[]): Prisma.Sql {
  return conditions.length === 0 ? Prisma.empty : Prisma.sql` AND ${Prisma.join(conditions, " AND ")}`;
}

/** A page statement for one filter, order and page request, built for any batch of parents. */
interface PageStatement {
  /** How many parents one statement may answer with this filter (see historyBatchLimits). */
  parentsPerStatement: number;
  build(parents: HistoryParent[]): Prisma.Sql;
}

/**
 * The page statement: one page branch per parent and, when a boundary must be known, one boundary branch
 * per parent kind, all joined by UNION ALL into one statement.
 *
 * A page branch reads one parent's page with its own ORDER BY ... LIMIT, so that the engine walks the
 * parent's index in the walking direction and stops after limit+1 rows (the extra row tells whether more
 * follow); both engines need the limited query inside a subquery to use it as a term of a compound SELECT.
 * The outer ROW_NUMBER() only numbers those few rows, because UNION ALL keeps no order between or within
 * its terms.
 *
 * - Forward (first/after/offset): rows after `after`, in the requested order, skipping `offset` of them;
 *   rows beyond `limit` mean hasNextPage. After a cursor or at an offset, the boundary branch tells whether a
 *   row precedes the page (hasPreviousPage): a row at or before the cursor, or any row at all for an offset.
 * - Backward (last/before): rows before `before`, in the reverse order; a row beyond `limit` means
 *   hasPreviousPage; the boundary branch looks for a row at or after `before` (hasNextPage).
 *
 * The boundary branch is an EXISTS per parent row (found by primary key) over the tenant's entries, so it
 * stops at the first matching entry.
 */
function pageStatement(
  engine: Database["engine"],
  tenantId: string,
  conditions: CheckedFilter,
  order: HistoryOrder,
  plan: PagePlan,
  asOf: Date | null,
): PageStatement {
  const key = sortKey(order.field, engine);
  const joinsAction = conditions.joinsAction || orderJoinsAction(order.field);
  const join = joinsAction ? actionJoin : Prisma.empty;
  const walk: Direction = plan.forward ? order.direction : reverse(order.direction);
  const columns = Prisma.join(entryColumns.map((column) => Prisma.raw(`e.${column}`)));
  const joinedColumns = [
    ...actionColumns.map((column) => `a.${column} AS ja_${column}`),
    ...placeColumns.map((column) => `s.${column} AS js_${column}`),
    ...placeColumns.map((column) => `pt.${column} AS jp_${column}`),
  ];
  const nullColumns = Prisma.raw(
    [
      ...entryColumns.map((column) => `NULL AS ${column}`),
      "NULL AS sort_key",
      ...joinedColumns.map((column) => `NULL AS ${column.split(" AS ")[1]}`),
      "NULL AS rn",
    ].join(", "),
  );
  const walkDirection = Prisma.raw(walk);
  // The outer numbering sorts the page's rows again by the columns the subquery returns. Text keys are
  // compared by code point there too, as in the subquery.
  const pageKey = key === null ? null : sortKinds[order.field] === "text" ? codePointText(Prisma.sql`page.sort_key`, engine) : Prisma.sql`page.sort_key`;
  const pageOrder = pageKey ? Prisma.sql`${pageKey} ${walkDirection}, page.id ${walkDirection}` : Prisma.sql`page.id ${walkDirection}`;
  const pageConditions = plan.cursor ? [...conditions.sql, after(key, plan.cursor, walk)] : conditions.sql;
  const rowLimit = plan.offset > 0 ? Prisma.sql`LIMIT ${plan.limit + 1} OFFSET ${plan.offset}` : Prisma.sql`LIMIT ${plan.limit + 1}`;
  // With an offset, any row of the parent precedes the page; after a cursor, a row at or before it does.
  const boundary = plan.cursor ? [...conditions.sql, atOrBefore(key, plan.cursor, walk)] : plan.offset > 0 ? conditions.sql : null;

  const pageBranch = (parent: HistoryParent) => {
    const parentColumn = parentColumns[parent.kind];
    // The action, store and partner are joined to the page's few rows only, outside the limited subquery.
    return Prisma.sql`SELECT page.*, ${Prisma.raw(joinedColumns.join(", "))}, ROW_NUMBER() OVER (ORDER BY ${pageOrder}) AS rn FROM (
      SELECT 0 AS part, ${parentColumn} AS parent_id, ${columns}, ${key ?? Prisma.sql`e.id`} AS sort_key
      FROM credit_entry e ${join}
      WHERE e.tenant_id = ${tenantId} AND ${parentColumn} = ${parent.id}${andAll(pageConditions)}
      ORDER BY ${orderTerms(key, walk)}
      ${rowLimit}
    ) page
    JOIN credit_action a ON a.id = page.action_id
    LEFT JOIN store s ON s.id = a.store_id
    LEFT JOIN partner pt ON pt.id = a.partner_id`;
  };
  const boundaryBranch = (kind: HistoryParent["kind"], ids: string[], boundaryConditions: Prisma.Sql[]) =>
    Prisma.sql`SELECT 1 AS part, p.id AS parent_id, ${nullColumns}
      FROM ${parentTables[kind]} p
      WHERE p.id IN (${Prisma.join(ids)}) AND EXISTS (
        SELECT 1 FROM credit_entry e ${join}
        WHERE ${parentColumns[kind]} = p.id AND e.tenant_id = ${tenantId}${andAll(boundaryConditions)})`;

  // Every page branch binds the same number of values, and a boundary branch one more per parent; the
  // sample id only serves to count them.
  const sample: HistoryParent = { kind: "account", id: "" };
  const perParent = pageBranch(sample).values.length + (boundary ? 1 : 0) + (asOf ? 1 : 0);
  const fixed = (boundary ? 2 * (boundaryBranch("account", [""], boundary).values.length - 1) : 0) + (asOf ? 6 : 0);
  const byValues = Math.floor((historyBatchLimits.boundValuesPerStatement - fixed) / perParent);
  const parentsPerStatement = Math.max(1, Math.min(historyBatchLimits.parentsPerStatement, byValues));

  return {
    parentsPerStatement,
    build(parents) {
      const branches = parents.map(pageBranch);
      const groups = kindsOf(parents);
      if (boundary) for (const { kind, ids } of groups) branches.push(boundaryBranch(kind, ids, boundary));
      if (asOf) for (const { kind, ids } of groups) branches.push(dueBranch(kind, ids, tenantId, asOf, nullColumns));
      return Prisma.join(branches, " UNION ALL ");
    },
  };
}

/**
 * One row (part 2) per parent with an account whose next lapse is due by `asOf`: expirations that must be
 * recorded before its history can be shown. Read from the accounts' `next_lapse_at`, by primary key for
 * accounts and through the (customer, currency) index for customers.
 */
function dueBranch(kind: HistoryParent["kind"], ids: string[], tenantId: string, asOf: Date, nulls: Prisma.Sql): Prisma.Sql {
  // No DISTINCT: PostgreSQL would then type the NULL columns as text before the UNION could match them.
  if (kind === "account") {
    return Prisma.sql`SELECT 2 AS part, d.id AS parent_id, ${nulls}
      FROM credit_account d
      WHERE d.id IN (${Prisma.join(ids)}) AND d.tenant_id = ${tenantId} AND d.next_lapse_at <= ${asOf}`;
  }
  return Prisma.sql`SELECT 2 AS part, c.id AS parent_id, ${nulls}
    FROM customer c
    WHERE c.id IN (${Prisma.join(ids)}) AND c.tenant_id = ${tenantId} AND EXISTS (
      SELECT 1 FROM credit_account d WHERE d.customer_id = c.id AND d.next_lapse_at <= ${asOf})`;
}

function partOf(row: { part: unknown }): number {
  return Number(toBigInt(row.part));
}

function dueParents(parents: HistoryParent[], rows: { part: unknown; parentId: string }[]): HistoryParent[] {
  const due = new Set(rows.filter((row) => partOf(row) === 2).map((row) => row.parentId));
  return parents.filter((parent) => due.has(parent.id));
}

// ---------------------------------------------------------------------------------------------------------
// Results

function assemblePages(parents: HistoryParent[], rows: RawRow[], order: HistoryOrder, plan: PagePlan): Map<string, HistoryPage> {
  const numbered = new Map<string, { rn: number; row: RawRow }[]>();
  const beyondBoundary = new Set<string>();
  for (const row of rows) {
    const part = partOf(row);
    if (part === 1) beyondBoundary.add(row.parentId);
    if (part !== 0) continue;
    const list = numbered.get(row.parentId) ?? [];
    list.push({ rn: Number(toBigInt(row.rn)), row });
    numbered.set(row.parentId, list);
  }

  const pages = new Map<string, HistoryPage>();
  for (const parent of parents) {
    // At most limit+1 rows, in the walking direction: the page, then one more if the list goes on.
    const list = (numbered.get(parent.id) ?? []).sort((a, b) => a.rn - b.rn).map((item) => item.row);
    let selected: RawRow[];
    let hasNextPage: boolean;
    let hasPreviousPage: boolean;
    if (plan.forward) {
      selected = list.slice(0, plan.limit);
      hasNextPage = list.length > plan.limit;
      hasPreviousPage = beyondBoundary.has(parent.id);
    } else {
      selected = list.slice(0, plan.limit).reverse();
      hasPreviousPage = list.length > plan.limit;
      hasNextPage = beyondBoundary.has(parent.id);
    }
    const entries = selected.map(toEntry);
    const cursors = selected.map((row, index) => encodeCursor(order, sortValueText(order.field, row, entries[index]!), entries[index]!.id));
    const stores = new Map<string, Store>();
    const partners = new Map<string, Partner>();
    for (const row of selected) {
      if (row.jsId !== null) stores.set(String(row.jsId), joined(row, "js", placeColumns) as Store);
      if (row.jpId !== null) partners.set(String(row.jpId), joined(row, "jp", placeColumns) as Partner);
    }
    pages.set(parent.id, {
      entries,
      actions: selected.map((row) => joined(row, "ja", actionColumns) as CreditAction),
      stores: [...stores.values()],
      partners: [...partners.values()],
      cursors,
      hasNextPage,
      hasPreviousPage,
      startCursor: cursors[0] ?? null,
      endCursor: cursors[cursors.length - 1] ?? null,
    });
  }
  return pages;
}

function sortValueText(field: HistoryOrderField, row: RawRow, entry: CreditEntry): string {
  switch (sortKinds[field]) {
    case "time":
      return toDate(row.sortKey).toISOString();
    case "amount":
      return toBigInt(row.sortKey).toString();
    case "text":
      return String(row.sortKey);
    case "id":
      return entry.id;
  }
}

function toEntry(row: RawRow): CreditEntry {
  return {
    id: String(row.id),
    tenantId: String(row.tenantId),
    actionId: String(row.actionId),
    accountId: String(row.accountId),
    customerId: String(row.customerId),
    sequence: Number(toBigInt(row.sequence)),
    direction: String(row.direction) as EntryDirection,
    amount: toBigInt(row.amount),
    balanceBefore: toBigInt(row.balanceBefore),
    balanceAfter: toBigInt(row.balanceAfter),
    type: String(row.type) as ActionType,
    currency: String(row.currency),
    storeId: row.storeId === null ? null : String(row.storeId),
    partnerId: row.partnerId === null ? null : String(row.partnerId),
    initiatorType: String(row.initiatorType) as InitiatorType,
    effectiveAt: toDate(row.effectiveAt),
    createdAt: toDate(row.createdAt),
  };
}

/**
 * The columns a page row carries under a prefix (ja_, js_, jp_), as a model object. The SQL runner has
 * already decoded them (bigint amounts; times from their `_at` names, since through the UNION ALL SQLite
 * reports them as text).
 */
function joined(row: RawRow, prefix: string, columns: readonly string[]): Record<string, unknown> {
  const model: Record<string, unknown> = {};
  for (const column of columns) {
    const name = camelCase(column);
    const value = row[prefix + name.charAt(0).toUpperCase() + name.slice(1)];
    model[name] = value === undefined ? null : column === "amount" && value !== null ? toBigInt(value) : value;
  }
  return model;
}

function camelCase(column: string): string {
  return column.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());
}

/**
 * An integer as the drivers return it: bigint (both engines, for integer columns), or a decimal string or a
 * safe number, which some driver settings produce. Never rounds: a number that is not a safe integer throws.
 */
function toBigInt(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "string" && /^-?[0-9]+$/.test(value)) return BigInt(value);
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  throw new Error(`Expected an integer from the database, got ${typeof value} ${String(value)}`);
}

/**
 * A time as the drivers return it: a Date (for DATETIME/timestamp columns), the stored ISO text, or epoch
 * milliseconds (SQLite's adapter set to the unixepoch-ms format).
 */
function toDate(value: unknown): Date {
  const date =
    value instanceof Date ? value : typeof value === "string" ? new Date(value) : typeof value === "number" || typeof value === "bigint" ? new Date(Number(value)) : null;
  if (!date || !Number.isFinite(date.getTime())) throw new Error(`Expected a time from the database, got ${typeof value} ${String(value)}`);
  return date;
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

function uniqueParents(parents: readonly HistoryParent[]): HistoryParent[] {
  const seen = new Map<string, HistoryParent>();
  for (const parent of parents) {
    if (parent.kind !== "account" && parent.kind !== "customer") throw new Error(`Unknown history parent kind: ${String(parent.kind)}`);
    if (!seen.has(parent.id)) seen.set(parent.id, parent);
  }
  return [...seen.values()];
}

function kindsOf(parents: HistoryParent[]): { kind: HistoryParent["kind"]; ids: string[] }[] {
  const groups: { kind: HistoryParent["kind"]; ids: string[] }[] = [];
  for (const kind of ["account", "customer"] as const) {
    const ids = parents.filter((parent) => parent.kind === kind).map((parent) => parent.id);
    if (ids.length > 0) groups.push({ kind, ids });
  }
  return groups;
}

function chunks<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}
