// History cursors: base64url of the JSON [order field, direction, sort value, entry id]. The sort value is
// text: ISO-8601 for times, decimal digits for amounts, the sort text itself otherwise, the id for the ID
// order. A cursor is checked completely before any part of it reaches SQL as a parameter.
import { int64Max, int64Min } from "../amounts.ts";
import { isStorableText } from "../validation.ts";
import { HistoryCursorError, type HistoryOrder, type HistoryOrderField } from "./types.ts";

/** A decoded cursor: the position of one entry in the order. */
export interface Position {
  /** The sort key's value, typed for binding (null for the ID order, where the id is the whole key). */
  value: Date | bigint | string | null;
  id: string;
}

/** The instants the ledger can hold (see checkDate in validation.ts); also where ISO text stays fixed width. */
export const earliestTime = 0;
export const latestTime = 253_402_300_799_999;

export type SortKind = "time" | "amount" | "text" | "id";

export const sortKinds: Record<HistoryOrderField, SortKind> = {
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
  STORE_NAME: "text",
  PARTNER_NAME: "text",
  ID: "id",
};

/** Far above any real cursor (a note of 1000 characters folds to a few kilobytes), and bounds the work. */
const maxCursorLength = 65_536;
const maxIdLength = 100;

export function encodeCursor(order: HistoryOrder, sortValue: string, id: string): string {
  return Buffer.from(JSON.stringify([order.field, order.direction, sortValue, id]), "utf8").toString("base64url");
}

const entryIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function decodeCursor(text: string, order: HistoryOrder, field: "after" | "before"): Position {
  const invalid = (why: string) =>
    new HistoryCursorError(field, `The ${field} cursor ${why}; use a cursor from this history and order.`);
  if (
    typeof text !== "string" ||
    text.length === 0 ||
    text.length > maxCursorLength ||
    !/^[A-Za-z0-9_-]+$/.test(text)
  ) {
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
  if (id.length === 0 || id.length > maxIdLength || !entryIdPattern.test(id))
    throw invalid("is not a cursor of this history");
  switch (sortKinds[order.field]) {
    case "time": {
      const time = Date.parse(value);
      // Only the exact form the encoder writes is accepted, which also keeps the time within 1970..9999.
      if (
        !Number.isFinite(time) ||
        new Date(time).toISOString() !== value ||
        time < earliestTime ||
        time > latestTime
      ) {
        throw invalid("is not a cursor of this history");
      }
      return { value: new Date(time), id };
    }
    case "amount": {
      // Only the canonical form the encoder writes (no "-0", no leading zeros), as for every Amount.
      if (!/^(0|-?[1-9][0-9]{0,18})$/.test(value)) throw invalid("is not a cursor of this history");
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
