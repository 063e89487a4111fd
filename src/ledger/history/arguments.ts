// History arguments, checked before anything is read: the filter becomes SQL conditions (every value bound,
// lists bounded, times clamped to what the ledger stores), the order is one of the known fields, and the
// paging arguments become a plan (direction, limit, offset, decoded cursor). Refusals are
// HistoryArgumentErrors with stable codes.
import type { Database } from "../../db/client.ts";
import { Prisma } from "../../generated/postgres/client.ts";
import { ActionType, EntryDirection, InitiatorType } from "../../generated/postgres/enums.ts";
import { int64Max, int64Min } from "../amounts.ts";
import { foldForSearch, isStorableText } from "../validation.ts";
import { decodeCursor, earliestTime, latestTime, type Position } from "./cursors.ts";
import {
  HistoryArgumentError,
  historyBatchLimits,
  type HistoryFilter,
  type HistoryOrder,
  historyOrderFields,
  historyPageLimits,
  type HistoryPageRequest,
} from "./types.ts";

export interface CheckedFilter {
  /** SQL conditions on `e` (credit_entry) and, when joinsAction, `a` (credit_action). */
  sql: Prisma.Sql[];
  joinsAction: boolean;
}

const actionTypes = new Set<string>(Object.values(ActionType));
const entryDirections = new Set<string>(Object.values(EntryDirection));
const initiatorTypes = new Set<string>(Object.values(InitiatorType));

export const nothing = Prisma.sql`1 = 0`;

export function checkFilter(filter: HistoryFilter, engine: Database["engine"]): CheckedFilter {
  const sql: Prisma.Sql[] = [];
  let joinsAction = false;

  const list = <T extends string>(
    values: T[] | null | undefined,
    field: string,
    allowed: Set<string> | null,
    column: Prisma.Sql,
  ) => {
    if (values === undefined || values === null) return;
    if (!Array.isArray(values)) throw invalidFilter(field, "must be a list");
    if (values.length > historyBatchLimits.filterValues) {
      throw invalidFilter(field, `may have at most ${historyBatchLimits.filterValues} values`, {
        max: String(historyBatchLimits.filterValues),
      });
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
    // The params name the filter as the API does (`note`) and say why, for the message in every language.
    if (!isStorableText(filter.noteContains)) {
      throw invalidFilter("filter.noteContains", "contains a character no note can hold", {
        filter: "note",
        reason: "unstorable",
      });
    }
    if ([...filter.noteContains].length > historyBatchLimits.noteQueryLength) {
      throw invalidFilter("filter.noteContains", `may have at most ${historyBatchLimits.noteQueryLength} characters`, {
        filter: "note",
        reason: "too-long",
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

  timeRange(
    sql,
    filter.effectiveFrom,
    filter.effectiveTo,
    "filter.effectiveFrom",
    "filter.effectiveTo",
    Prisma.sql`e.effective_at`,
  );
  timeRange(
    sql,
    filter.createdFrom,
    filter.createdTo,
    "filter.createdFrom",
    "filter.createdTo",
    Prisma.sql`e.created_at`,
  );

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
  return new HistoryArgumentError(
    "INVALID_FILTER",
    field,
    `The filter ${field.replace(/^filter\./, "")} ${problem}.`,
    params,
  );
}

export function checkOrder(order: HistoryOrder): HistoryOrder {
  if (!order || !(historyOrderFields as readonly string[]).includes(order.field)) {
    throw new HistoryArgumentError(
      "INVALID_ORDER",
      "orderBy.field",
      `The order field must be one of ${historyOrderFields.join(", ")}.`,
    );
  }
  if (order.direction !== "ASC" && order.direction !== "DESC") {
    throw new HistoryArgumentError("INVALID_ORDER", "orderBy.direction", "The order direction must be ASC or DESC.");
  }
  return { field: order.field, direction: order.direction };
}

export interface PagePlan {
  /** Paging forward (first/after/offset) or backward (last/before). */
  forward: boolean;
  limit: number;
  offset: number;
  /** `after` when paging forward, `before` when paging backward. */
  cursor: Position | null;
}

export function planPage(page: HistoryPageRequest, order: HistoryOrder): PagePlan {
  const given = (value: unknown) => value !== undefined && value !== null;
  const refuse = (field: string, message: string) => new HistoryArgumentError("INVALID_PAGINATION", field, message);
  if (given(page.first) && given(page.last))
    throw refuse("last", "Give either first (to page forward) or last (to page backward), not both.");
  if (given(page.after) && given(page.before))
    throw refuse("before", "Give either after (with first) or before (with last), not both.");
  if (given(page.offset)) {
    for (const field of ["after", "before", "last"] as const) {
      if (given(page[field]))
        throw refuse("offset", `offset counts from the start of the list; it cannot be combined with ${field}.`);
    }
  }
  if (given(page.after) && given(page.last))
    throw refuse("after", "after pages forward and goes with first; use before with last.");
  if (given(page.before) && given(page.first))
    throw refuse("before", "before pages backward and goes with last; use after with first.");

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
    throw new HistoryArgumentError(
      "PAGE_SIZE_OUT_OF_RANGE",
      field,
      `${field} must be a whole number from 1 to ${historyPageLimits.max}.`,
      {
        min: "1",
        max: String(historyPageLimits.max),
      },
    );
  }
  return value;
}

/** Where `needle` occurs in `haystack` (1-based, 0 when absent), by SQL built-ins that treat no character specially. */
function substringPosition(haystack: Prisma.Sql, needle: string, engine: Database["engine"]): Prisma.Sql {
  return Prisma.sql`${Prisma.raw(engine === "postgres" ? "strpos" : "instr")}(${haystack}, ${needle})`;
}
