// The SQL of history reads: one page statement for many parents (a limited subquery per parent joined by
// UNION ALL, with boundary and settlement rows), and the count statement's pieces. See history.ts for why the
// statements have this shape.
import type { Database } from "../../db/client.ts";
import { Prisma } from "../../generated/postgres/client.ts";
import { inTextList } from "../../db/sql.ts";
import type { CheckedFilter, PagePlan } from "./arguments.ts";
import { type Position, sortKinds } from "./cursors.ts";
import { historyBatchLimits, type HistoryOrder, type HistoryOrderField, type HistoryParent } from "./types.ts";

/** The entry columns read, in this order, by every branch of a page statement. */
export const entryColumns = [
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
export const actionColumns = [
  "id",
  "tenant_id",
  "type",
  "amount",
  "currency",
  "source_account_id",
  "target_account_id",
  "grant_id",
  "hold_id",
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
  "previous_expires_at",
  "new_expires_at",
  "effective_at",
  "created_at",
  "updated_at",
] as const;
export const placeColumns = ["id", "tenant_id", "external_id", "name", "created_at", "updated_at"] as const;

/** A row of a page statement, with the camelCase keys the SQL runner gives (see src/db/sql.ts). */
export type RawRow = Record<string, unknown> & { part: unknown; parentId: string; sortKey: unknown; rn: unknown };

export const parentColumns = {
  account: Prisma.raw("e.account_id"),
  customer: Prisma.raw("e.customer_id"),
} as const;

/**
 * The parent's own table: one row per parent for the boundary check, found by primary key. The tenant is
 * checked on the entries inside the EXISTS; checking it on the parent too made SQLite scan the tenant's
 * index of parents instead of looking the few ids up.
 */
export const parentTables = {
  account: Prisma.raw("credit_account"),
  customer: Prisma.raw("customer"),
} as const;

export const actionJoin = Prisma.sql`JOIN credit_action a ON a.id = e.action_id`;

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
    // The name as it is now, looked up by primary key for each entry; no place has an empty name (names are
    // 1 to 200 characters), so the empty string stands for "none", as for notes.
    case "STORE_NAME":
      return codePointText(Prisma.sql`COALESCE((SELECT s.name FROM store s WHERE s.id = e.store_id), '')`, engine);
    case "PARTNER_NAME":
      return codePointText(Prisma.sql`COALESCE((SELECT p.name FROM partner p WHERE p.id = e.partner_id), '')`, engine);
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
function positionCondition(
  key: Prisma.Sql | null,
  position: Position,
  comparison: ">" | "<" | ">=" | "<=",
): Prisma.Sql {
  const op = Prisma.raw(comparison);
  return key
    ? Prisma.sql`(${key}, e.id) ${op} (${position.value}, ${position.id})`
    : Prisma.sql`e.id ${op} ${position.id}`;
}

/** Strictly after the position when walking in `direction`. */
function after(key: Prisma.Sql | null, position: Position, direction: Direction): Prisma.Sql {
  return positionCondition(key, position, direction === "ASC" ? ">" : "<");
}

/** At the position or before it when walking in `direction`: the complement of `after`. */
function atOrBefore(key: Prisma.Sql | null, position: Position, direction: Direction): Prisma.Sql {
  return positionCondition(key, position, direction === "ASC" ? "<=" : ">=");
}

export function andAll(conditions: Prisma.Sql[]): Prisma.Sql {
  return conditions.length === 0 ? Prisma.empty : Prisma.sql` AND ${Prisma.join(conditions, " AND ")}`;
}

/** A page statement for one filter, order and page request, built for any batch of parents. */
export interface PageStatement {
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
export function pageStatement(
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
  const pageKey =
    key === null
      ? null
      : sortKinds[order.field] === "text"
        ? codePointText(Prisma.sql`page.sort_key`, engine)
        : Prisma.sql`page.sort_key`;
  const pageOrder = pageKey
    ? Prisma.sql`${pageKey} ${walkDirection}, page.id ${walkDirection}`
    : Prisma.sql`page.id ${walkDirection}`;
  const pageConditions = plan.cursor ? [...conditions.sql, after(key, plan.cursor, walk)] : conditions.sql;
  const rowLimit =
    plan.offset > 0 ? Prisma.sql`LIMIT ${plan.limit + 1} OFFSET ${plan.offset}` : Prisma.sql`LIMIT ${plan.limit + 1}`;
  // With an offset, any row of the parent precedes the page; after a cursor, a row at or before it does.
  const boundary = plan.cursor
    ? [...conditions.sql, atOrBefore(key, plan.cursor, walk)]
    : plan.offset > 0
      ? conditions.sql
      : null;

  /** One parent's page; `parentId` is a bound id (SQLite) or the column of the parent list (PostgreSQL). */
  const pageBranch = (kind: HistoryParent["kind"], parentId: Prisma.Sql | string) => {
    const parentColumn = parentColumns[kind];
    // The action, store and partner are joined to the page's few rows only, outside the limited subquery.
    return Prisma.sql`SELECT page.*, ${Prisma.raw(joinedColumns.join(", "))}, ROW_NUMBER() OVER (ORDER BY ${pageOrder}) AS rn FROM (
      SELECT 0 AS part, ${parentColumn} AS parent_id, ${columns}, ${key ?? Prisma.sql`e.id`} AS sort_key
      FROM credit_entry e ${join}
      WHERE e.tenant_id = ${tenantId} AND ${parentColumn} = ${parentId}${andAll(pageConditions)}
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
      WHERE ${inTextList(engine, Prisma.sql`p.id`, ids)} AND EXISTS (
        SELECT 1 FROM credit_entry e ${join}
        WHERE ${parentColumns[kind]} = p.id AND e.tenant_id = ${tenantId}${andAll(boundaryConditions)})`;

  /**
   * PostgreSQL: every parent's page through one LATERAL subquery over the list of parent ids, bound as one
   * array. Its text is the same for any number of parents, and PostgreSQL plans it in about a millisecond;
   * a UNION ALL of one term per parent took it tens of milliseconds to plan at twenty parents.
   */
  const lateralPages = (kind: HistoryParent["kind"], ids: string[]) =>
    Prisma.sql`SELECT page.* FROM unnest(CAST(${ids} AS text[])) AS parent(id)
      CROSS JOIN LATERAL (${pageBranch(kind, Prisma.sql`parent.id`)}) page`;

  // Every page branch binds the same number of values, and a boundary branch one more per parent; the
  // sample id only serves to count them. (On PostgreSQL the pages bind a fixed number of values.)
  const perParent = pageBranch("account", "").values.length + (boundary ? 1 : 0) + (asOf ? 1 : 0);
  const fixed = (boundary ? 2 * (boundaryBranch("account", [""], boundary).values.length - 1) : 0) + (asOf ? 6 : 0);
  const byValues = Math.floor((historyBatchLimits.boundValuesPerStatement - fixed) / perParent);
  const parentsPerStatement = Math.max(1, Math.min(historyBatchLimits.parentsPerStatement, byValues));

  return {
    parentsPerStatement,
    build(parents) {
      const groups = kindsOf(parents);
      // SQLite plans a compound SELECT of one term per parent cheaply, and has no LATERAL.
      const branches =
        engine === "postgres"
          ? groups.map(({ kind, ids }) => lateralPages(kind, ids))
          : parents.map((parent) => pageBranch(parent.kind, parent.id));
      if (boundary) for (const { kind, ids } of groups) branches.push(boundaryBranch(kind, ids, boundary));
      if (asOf)
        for (const { kind, ids } of groups) branches.push(dueBranch(engine, kind, ids, tenantId, asOf, nullColumns));
      return Prisma.join(branches, " UNION ALL ");
    },
  };
}

/**
 * One row (part 2) per parent with an account whose next lapse is due by `asOf`: expirations that must be
 * recorded before its history can be shown. Read from the accounts' `next_lapse_at`, by primary key for
 * accounts and through the (customer, currency) index for customers.
 */
export function dueBranch(
  engine: Database["engine"],
  kind: HistoryParent["kind"],
  ids: string[],
  tenantId: string,
  asOf: Date,
  nulls: Prisma.Sql,
): Prisma.Sql {
  // No DISTINCT: PostgreSQL would then type the NULL columns as text before the UNION could match them.
  if (kind === "account") {
    return Prisma.sql`SELECT 2 AS part, d.id AS parent_id, ${nulls}
      FROM credit_account d
      WHERE ${inTextList(engine, Prisma.sql`d.id`, ids)} AND d.tenant_id = ${tenantId} AND d.next_lapse_at <= ${asOf}`;
  }
  return Prisma.sql`SELECT 2 AS part, c.id AS parent_id, ${nulls}
    FROM customer c
    WHERE ${inTextList(engine, Prisma.sql`c.id`, ids)} AND c.tenant_id = ${tenantId} AND EXISTS (
      SELECT 1 FROM credit_account d WHERE d.customer_id = c.id AND d.next_lapse_at <= ${asOf})`;
}

export function uniqueParents(parents: readonly HistoryParent[]): HistoryParent[] {
  const seen = new Map<string, HistoryParent>();
  for (const parent of parents) {
    if (parent.kind !== "account" && parent.kind !== "customer")
      throw new Error(`Unknown history parent kind: ${String(parent.kind)}`);
    if (!seen.has(parent.id)) seen.set(parent.id, parent);
  }
  return [...seen.values()];
}

export function kindsOf(parents: HistoryParent[]): { kind: HistoryParent["kind"]; ids: string[] }[] {
  const groups: { kind: HistoryParent["kind"]; ids: string[] }[] = [];
  for (const kind of ["account", "customer"] as const) {
    const ids = parents.filter((parent) => parent.kind === kind).map((parent) => parent.id);
    if (ids.length > 0) groups.push({ kind, ids });
  }
  return groups;
}

export function chunks<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}
