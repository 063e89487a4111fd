// History rows turned into pages: entries in the requested order with their cursors, the boundary rows into
// hasNextPage/hasPreviousPage, the joined columns into the entries' actions, stores and partners, and the
// settlement rows into the parents whose expirations are due.
import type { CreditAction, CreditEntry, Partner, Store } from "../../generated/postgres/client.ts";
import type { ActionType, EntryDirection, InitiatorType } from "../../generated/postgres/enums.ts";
import type { PagePlan } from "./arguments.ts";
import { encodeCursor, sortKinds } from "./cursors.ts";
import { actionColumns, placeColumns, type RawRow } from "./statements.ts";
import type { HistoryOrder, HistoryOrderField, HistoryPage, HistoryParent } from "./types.ts";
import { defined } from "../../assert.ts";

export function assemblePages(
  parents: HistoryParent[],
  rows: RawRow[],
  order: HistoryOrder,
  plan: PagePlan,
): Map<string, HistoryPage> {
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
    const cursors = selected.map((row, index) =>
      encodeCursor(
        order,
        sortValueText(order.field, row, defined(entries[index], "a page row's entry")),
        defined(entries[index], "a page row's entry").id,
      ),
    );
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
function joined(row: RawRow, prefix: "ja" | "js" | "jp", columns: readonly string[]): Record<string, unknown> {
  let pick = joinedPickers.get(prefix);
  if (!pick) {
    pick = picker(prefix, columns);
    joinedPickers.set(prefix, pick);
  }
  return pick(row);
}

const joinedPickers = new Map<string, (row: RawRow) => Record<string, unknown>>();

/**
 * Compiles, once per prefix, a function that copies the prefixed columns into one object literal. Built key
 * by key, an object of 25 action columns became a V8 hash-table object, the second largest allocation of a
 * nested read (see `rowDecoder` in src/db/sql.ts for the same reason). Amounts arrive from a UNION ALL as
 * whatever the engine reports, so they go through `toBigInt`; a missing column is null.
 */
function picker(prefix: string, columns: readonly string[]): (row: RawRow) => Record<string, unknown> {
  const properties = columns.map((column) => {
    const name = column.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());
    const value = `row[${JSON.stringify(prefix + name.charAt(0).toUpperCase() + name.slice(1))}]`;
    const converted = name === "amount" ? `toBigInt(${value})` : value;
    return `${JSON.stringify(name)}: ${value} === undefined || ${value} === null ? null : ${converted}`;
  });
  return new Function("toBigInt", `return (row) => ({ ${properties.join(", ")} });`)(toBigInt);
}

/**
 * An integer as the drivers return it: bigint (both engines, for integer columns), or a decimal string or a
 * safe number, which some driver settings produce. Never rounds: a number that is not a safe integer throws.
 */
export function toBigInt(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "string" && /^-?[0-9]+$/.test(value)) return BigInt(value);
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  throw new Error(`Expected an integer from the database, got ${typeof value} ${String(value)}`);
}

/**
 * A time as the drivers return it: a Date (for DATETIME/timestamp columns), the stored ISO text, or epoch
 * milliseconds (SQLite's adapter set to the unixepoch-ms format).
 */
export function toDate(value: unknown): Date {
  const date =
    value instanceof Date
      ? value
      : typeof value === "string"
        ? new Date(value)
        : typeof value === "number" || typeof value === "bigint"
          ? new Date(Number(value))
          : null;
  if (!date || !Number.isFinite(date.getTime()))
    throw new Error(`Expected a time from the database, got ${typeof value} ${String(value)}`);
  return date;
}

export function partOf(row: { part: unknown }): number {
  return Number(toBigInt(row.part));
}

export function dueParents(parents: HistoryParent[], rows: { part: unknown; parentId: string }[]): HistoryParent[] {
  const due = new Set(rows.filter((row) => partOf(row) === 2).map((row) => row.parentId));
  return parents.filter((parent) => due.has(parent.id));
}
