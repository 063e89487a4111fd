// The public shapes of history reads (parents, filters, orders, page requests and pages), their limits, and
// the errors that refuse bad arguments. Imports nothing of the ledger but the generated model types.
import type { CreditAction, CreditEntry, Partner, Store } from "../../generated/postgres/client.ts";
import type { ActionType, EntryDirection, InitiatorType } from "../../generated/postgres/enums.ts";
import { limits } from "../validation.ts";

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
  "STORE_NAME",
  "PARTNER_NAME",
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
 * - STORE_NAME, PARTNER_NAME: by the name of the action's store or partner as it is now, code point order;
 *   an action without one sorts as the empty string (which no name is), like a missing note. A renamed store
 *   moves its entries in this order, as a changed note would; the cursor holds the name it was made with, so
 *   the next page continues exactly after that position in the order as it is now.
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
