// Paging of the plain list connections. Page sizes (customers, stores, partners, grants, holds), held to the same rule as
// histories: `first` and `last` from 1 to 100, refused with PAGE_SIZE_OUT_OF_RANGE rather than silently
// clamped, so a client asking for 500 learns that it got at most 100.
import { cursorToOffset, offsetToCursor } from "@pothos/plugin-relay";
import { historyPageLimits } from "../ledger/history.ts";
import { databaseIdPattern } from "../ledger/ids.ts";
import type { Context } from "../types.ts";
import { argumentError } from "./errors.ts";

export const pageLimits = historyPageLimits;

export function checkPageSize(args: { first?: number | null; last?: number | null }, context: Context): void {
  for (const argument of ["first", "last"] as const) {
    const value = args[argument];
    if (value === null || value === undefined) continue;
    if (!Number.isInteger(value) || value < 1 || value > pageLimits.max) {
      throw argumentError(
        "PAGE_SIZE_OUT_OF_RANGE",
        argument,
        context,
        { argument, min: "1", max: String(pageLimits.max), value: String(value) },
        `${argument} must be a whole number from 1 to ${pageLimits.max}.`,
      );
    }
  }
}

/**
 * The paging rules every connection keeps (the history's, see planPage): first/after forward, last/before
 * backward, never both ways at once; INVALID_PAGINATION otherwise.
 */
function checkPageDirection(args: KeysetArgs, context: Context): void {
  checkPageSize(args, context);
  const given = (value: unknown) => value !== undefined && value !== null;
  const refuse = (field: string, message: string) => argumentError("INVALID_PAGINATION", field, context, {}, message);
  if (given(args.first) && given(args.last))
    throw refuse("last", "Give either first (to page forward) or last (to page backward), not both.");
  if (given(args.after) && given(args.before))
    throw refuse("before", "Give either after (with first) or before (with last), not both.");
  if (given(args.after) && given(args.last))
    throw refuse("after", "after pages forward and goes with first; use before with last.");
  if (given(args.before) && given(args.first))
    throw refuse("before", "before pages backward and goes with last; use after with first.");
}

function invalidCursor(argument: "after" | "before", context: Context) {
  return argumentError(
    "INVALID_CURSOR",
    argument,
    context,
    { argument },
    `The cursor in ${argument} is not valid for this list; use a cursor this list returned.`,
  );
}

/**
 * The checks of the append-only lists paged by offset (customers, stores, partners: oldest first, rows are
 * never removed, so a new row lands after every page already read and offsets stay stable). Without them the
 * relay plugin's own refusals of a bad cursor, or of `last` without `before`, surface as INVALID_ID; here they
 * are INVALID_CURSOR and INVALID_PAGINATION like on every other list.
 */
export function checkOffsetPage(args: KeysetArgs, context: Context): void {
  checkPageDirection(args, context);
  for (const argument of ["after", "before"] as const) {
    const cursor = args[argument];
    if (cursor === null || cursor === undefined) continue;
    let offset: number;
    try {
      offset = cursorToOffset(cursor);
    } catch {
      throw invalidCursor(argument, context);
    }
    // Only the exact form the plugin writes: "OffsetConnection:007" or "…:-1" name no row it returned.
    if (!Number.isSafeInteger(offset) || offset < 0 || offsetToCursor(offset) !== cursor) {
      throw invalidCursor(argument, context);
    }
  }
  if (args.last !== null && args.last !== undefined && (args.before === null || args.before === undefined)) {
    throw argumentError(
      "INVALID_PAGINATION",
      "last",
      context,
      {},
      "This list pages backward from a cursor: give before with last, or page forward with first.",
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// Keyset pages of the lists a loader reads whole (an account's grants and holds)
//
// A cursor names the position of a row by its sort key, creation time then id, both fixed once the row is
// written; an offset would name "the n-th row", which moves when a row is added or leaves a state filter
// between two pages, so pages would repeat or skip rows. The rules are the history's (see planPage in
// src/ledger/history/arguments.ts): first/after forward, last/before backward, never both; a cursor that was not
// made by this list is refused with INVALID_CURSOR, nothing read beyond the rows already loaded.

/** The sort key of a keyset list's rows. */
export interface KeysetRow {
  id: string;
  createdAt: Date;
}

export interface KeysetArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

/** Far above any cursor made here (about 100 characters), and bounds the work on a forged one. */
const maxKeysetCursorLength = 512;

function encodeKeysetCursor(list: string, row: KeysetRow): string {
  return Buffer.from(JSON.stringify([list, row.createdAt.toISOString(), row.id]), "utf8").toString("base64url");
}

function decodeKeysetCursor(list: string, text: string, argument: "after" | "before", context: Context): KeysetRow {
  const invalid = () => invalidCursor(argument, context);
  if (text.length === 0 || text.length > maxKeysetCursorLength || !/^[A-Za-z0-9_-]+$/.test(text)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || !parsed.every((part) => typeof part === "string")) {
    throw invalid();
  }
  const [cursorList, time, id] = parsed as [string, string, string];
  const at = Date.parse(time);
  // Only the exact form the encoder writes: another list's cursor, or a forged time or id, names no position.
  if (cursorList !== list || !Number.isFinite(at) || new Date(at).toISOString() !== time) throw invalid();
  if (!databaseIdPattern.test(id)) throw invalid();
  return { createdAt: new Date(at), id };
}

/** Negative when `a` comes before `b` in the list's order (`direction` of creation time, then of id). */
function compareKeys(a: KeysetRow, b: KeysetRow, direction: "ASC" | "DESC"): number {
  const byKey = a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return direction === "ASC" ? byKey : -byKey;
}

/**
 * One page of `rows` (all of the list, filtered) as a Relay connection, by keyset. `list` names the list in its
 * cursors, so that one list's cursor is refused by another.
 */
export function resolveKeysetConnection<T extends KeysetRow>(
  list: string,
  rows: readonly T[],
  direction: "ASC" | "DESC",
  args: KeysetArgs,
  context: Context,
) {
  checkPageDirection(args, context);
  const given = (value: unknown) => value !== undefined && value !== null;
  const ordered = [...rows].sort((a, b) => compareKeys(a, b, direction));
  const forward = !given(args.last) && !given(args.before);
  const size = (forward ? args.first : args.last) ?? pageLimits.default;
  let start: number;
  let end: number;
  if (forward) {
    const after = given(args.after) ? decodeKeysetCursor(list, args.after as string, "after", context) : null;
    start = after === null ? 0 : ordered.findIndex((row) => compareKeys(row, after, direction) > 0);
    if (start === -1) start = ordered.length;
    end = Math.min(start + size, ordered.length);
  } else {
    const before = given(args.before) ? decodeKeysetCursor(list, args.before as string, "before", context) : null;
    end = before === null ? ordered.length : ordered.findIndex((row) => compareKeys(row, before, direction) >= 0);
    if (end === -1) end = ordered.length;
    start = Math.max(end - size, 0);
  }
  const edges = ordered.slice(start, end).map((node) => ({ cursor: encodeKeysetCursor(list, node), node }));
  return {
    edges,
    pageInfo: {
      hasPreviousPage: start > 0,
      hasNextPage: end < ordered.length,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}
