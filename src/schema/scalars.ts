// The API's own scalars, Amount and DateTime, registered on the builder. DateTime's parsing and time-zone
// arithmetic (local times without an offset are in the tenant's time zone, which only resolvers know) are in
// src/time/date-time.ts, which the command-line tools share.
//
// Amount is a small custom scalar rather than graphql-scalars' BigInt or SafeInt: BigInt serializes a value
// as a JSON number whenever it is "safe" and otherwise needs JSON.stringify patched for bigint, so one field
// would be a number or a string depending on its size; it also accepts booleans and unsafe JSON numbers (whose
// digits are already lost) and knows no 64-bit bounds. SafeInt stops at 2^53-1, below the ledger's int64 range.
// Neither gives refusals the stable `extensions.code` that clients branch on.
//
// Refusals of input are GraphQLErrors with `extensions.code` (INVALID_AMOUNT, AMOUNT_OUT_OF_RANGE,
// INVALID_DATE_TIME), the same codes the ledger and src/i18n/messages.ts use. A value the server itself cannot
// serialize is a bug, not the client's fault, so serialize throws a TypeError, which the server masks and logs.
import { GraphQLError, GraphQLScalarType, Kind, print, type ValueNode } from "graphql";
import { int64Max, int64Min } from "../ledger/amounts.ts";
import {
  type DateTimeInput,
  DateTimeError,
  type DateTimeRefusalReason,
  dateTimeForms,
  parseDateTime,
} from "../time/date-time.ts";
import { builder } from "./builder.ts";

// ---------------------------------------------------------------------------------------------------------
// Amount

// The ledger's own syntax (src/ledger/amounts.ts): the canonical decimal form, so that one amount has one
// spelling: optional minus, no plus, no leading zeros, no spaces, ASCII digits only, and no "-0" (zero has no
// sign; a client that sends "-0" has usually negated an amount it meant to check).
const amountPattern = /^(0|-?[1-9][0-9]*)$/;

const sendDigits = 'send the amount as a JSON string of digits, such as "1250" or "-50"';

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/**
 * A refusal of a scalar's input, written in English, with the details its message states as `params` (the
 * value as sent, and for an amount the reason), so that a translation says the same thing
 * (src/i18n/refusal-messages.ts). The params stay on the server: the client sees the code and the message.
 */
export class ScalarInputError extends GraphQLError {
  constructor(
    message: string,
    code: string,
    readonly params: Readonly<Record<string, string>>,
    node?: ValueNode,
  ) {
    super(message, { extensions: { code }, ...(node ? { nodes: node } : {}) });
  }
}

/**
 * The params of a scalar's refusal, whether graphql-js reports the refusal itself (an inline value) or wraps it
 * (a variable: "Variable "$i" got invalid value ...", with the refusal as its original error).
 */
export function scalarInputParams(error: GraphQLError): Readonly<Record<string, string>> {
  if (error instanceof ScalarInputError) return error.params;
  if (error.originalError instanceof ScalarInputError) return error.originalError.params;
  return {};
}

/** Why an amount is refused; each reason has its own message in every language. */
export type AmountRefusalReason = "syntax" | "negative-zero" | "fraction" | "unsafe-number" | "unsafe-literal" | "type";

function refuseAmount(
  message: string,
  code: "INVALID_AMOUNT" | "AMOUNT_OUT_OF_RANGE",
  params: { value: string; reason?: AmountRefusalReason },
  node?: ValueNode,
): never {
  throw new ScalarInputError(message, code, params, node);
}

function checkRange(amount: bigint, shown: string, node?: ValueNode): bigint {
  if (amount > int64Max || amount < int64Min) {
    refuseAmount(
      `Amount ${shorten(shown)} lies outside the 64-bit range the ledger holds (${int64Min} to ${int64Max}).`,
      "AMOUNT_OUT_OF_RANGE",
      { value: shorten(shown) },
      node,
    );
  }
  return amount;
}

function parseAmountText(text: string, node?: ValueNode): bigint {
  if (!amountPattern.test(text)) {
    refuseAmount(
      `Amount must be a whole number of minor units written with digits only (no fraction, exponent, sign "+", "-0", spaces or leading zeros); got "${shorten(text)}"; ${sendDigits}.`,
      "INVALID_AMOUNT",
      { value: shorten(text), reason: "syntax" },
      node,
    );
  }
  return checkRange(BigInt(text), text, node);
}

/** Zero has one spelling, "0": a signed zero is refused like any other non-canonical form. */
function refuseNegativeZero(shown: string, node?: ValueNode): never {
  refuseAmount(
    `Amount ${shown} is not a canonical whole number: zero is written "0"; ${sendDigits}.`,
    "INVALID_AMOUNT",
    { value: shown, reason: "negative-zero" },
    node,
  );
}

/**
 * Reads an Amount as a variable carries it: a string of digits, or a JSON number that is a safe integer. A
 * bigint (from a server-side caller) is taken as it is. Throws a GraphQLError with `extensions.code`.
 */
export function parseAmount(value: unknown, node?: ValueNode): bigint {
  if (typeof value === "bigint") return checkRange(value, value.toString(), node);
  if (typeof value === "string") return parseAmountText(value, node);
  if (typeof value === "number") {
    if (!Number.isInteger(value)) {
      refuseAmount(
        `Amount must be a whole number of minor units; got ${value}; ${sendDigits}.`,
        "INVALID_AMOUNT",
        { value: String(value), reason: "fraction" },
        node,
      );
    }
    // A JSON number beyond 2^53 has already been rounded by whoever wrote or read it, so its digits cannot
    // be trusted even when they look whole.
    if (!Number.isSafeInteger(value)) {
      refuseAmount(
        `Amount ${value} is too large to be exact as a JSON number (beyond ±${Number.MAX_SAFE_INTEGER}); ${sendDigits}.`,
        "INVALID_AMOUNT",
        { value: String(value), reason: "unsafe-number" },
        node,
      );
    }
    if (Object.is(value, -0)) refuseNegativeZero("-0", node);
    return BigInt(value);
  }
  refuseAmount(
    `Amount must be a string of digits; got ${describe(value)}; ${sendDigits}.`,
    "INVALID_AMOUNT",
    { value: asJson(value), reason: "type" },
    node,
  );
}

function parseAmountLiteral(node: ValueNode): bigint {
  switch (node.kind) {
    case Kind.STRING:
      return parseAmountText(node.value, node);
    case Kind.INT: {
      // An integer literal in a query is exact text, but such literals are usually printed from a JavaScript
      // number that was rounded before it was printed, so the same safe-integer rule applies as to variables.
      const value = BigInt(node.value);
      if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
        refuseAmount(
          `Amount ${shorten(node.value)} is too large to be exact as a number literal (beyond ±${Number.MAX_SAFE_INTEGER}); ${sendDigits}.`,
          "INVALID_AMOUNT",
          { value: shorten(node.value), reason: "unsafe-literal" },
          node,
        );
      }
      if (node.value === "-0") refuseNegativeZero(node.value, node);
      return value;
    }
    case Kind.FLOAT:
      return refuseAmount(
        `Amount must be a whole number of minor units; got ${node.value}; ${sendDigits}.`,
        "INVALID_AMOUNT",
        { value: node.value, reason: "fraction" },
        node,
      );
    default:
      return refuseAmount(
        `Amount must be a string of digits; got ${shorten(print(node))}; ${sendDigits}.`,
        "INVALID_AMOUNT",
        { value: shorten(print(node)), reason: "type" },
        node,
      );
  }
}

/**
 * Output is any exact integer. Every balance and action amount lies within the 64-bit range, but a total over
 * several accounts (a customer's balance per currency) may not, and a string of digits stays exact at any size.
 */
function serializeAmount(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  if (typeof value === "string" && amountPattern.test(value)) return BigInt(value).toString();
  throw new TypeError(`Amount cannot represent ${describe(value)}: the value is not an integer.`);
}

export const AmountScalar = new GraphQLScalarType<bigint, string>({
  name: "Amount",
  description:
    "An exact amount in minor units of its currency or credit unit: cents for USD, haléře for CZK, whole points " +
    'for a points unit. Always a whole number: within the signed 64-bit range for every balance, amount and input (a total over several accounts may exceed it). Returned as a JSON string of digits ("12500", ' +
    '"-50") because JSON numbers lose digits beyond 2^53 in most clients. Accepted as such a string, or as a JSON ' +
    'integer up to ±9007199254740991; fractions, exponents, a sign "+", "-0", leading zeros, spaces, non-ASCII digits ' +
    "and larger JSON numbers are refused with the code " +
    "INVALID_AMOUNT, values outside the 64-bit range with AMOUNT_OUT_OF_RANGE.",
  serialize: serializeAmount,
  parseValue: (value) => parseAmount(value),
  parseLiteral: (node) => parseAmountLiteral(node),
});

// ---------------------------------------------------------------------------------------------------------
// DateTime

// Parsing, time zones and formatting are in src/time/date-time.ts; here, the scalar around them.

/** Why a DateTime is refused: the parser's reasons, and "type" for a value that is not a string. */
export type DateTimeScalarRefusalReason = DateTimeRefusalReason | "type";

function refuseDateTime(
  message: string,
  params: { value: string; reason: DateTimeScalarRefusalReason } & Record<string, string>,
  node?: ValueNode,
): never {
  throw new ScalarInputError(message, "INVALID_DATE_TIME", params, node);
}

/** parseDateTime, its refusal as the GraphQL error with code INVALID_DATE_TIME at the value's node. */
function parseDateTimeText(text: string, node?: ValueNode): DateTimeInput {
  try {
    return parseDateTime(text);
  } catch (error) {
    if (error instanceof DateTimeError) {
      refuseDateTime(error.message, { ...error.details, value: shorten(text), reason: error.reason }, node);
    }
    throw error;
  }
}

function parseDateTimeValue(value: unknown, node?: ValueNode): DateTimeInput {
  if (typeof value !== "string")
    refuseDateTime(
      `DateTime must be a string, ${dateTimeForms}; got ${describe(value)}.`,
      { value: asJson(value), reason: "type", kind: jsonKind(value) },
      node,
    );
  return parseDateTimeText(value, node);
}

function parseDateTimeLiteral(node: ValueNode): DateTimeInput {
  if (node.kind !== Kind.STRING) {
    refuseDateTime(
      `DateTime must be a string, ${dateTimeForms}; got ${shorten(print(node))}.`,
      { value: shorten(print(node)), reason: "type" },
      node,
    );
  }
  return parseDateTimeText(node.value, node);
}

// What formatDateTime produces; serialize passes such strings through and refuses any other.
const formattedPattern = /^(?:\d{4}|[+-]\d{6})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/;

function serializeDateTime(value: unknown): string {
  if (value instanceof Date) {
    if (!Number.isFinite(value.getTime())) throw new TypeError("DateTime cannot represent an invalid date.");
    // toISOString is UTC ("Z"); the API always states a numeric offset.
    return value.toISOString().replace(/Z$/, "+00:00");
  }
  if (typeof value === "string" && formattedPattern.test(value)) return value;
  throw new TypeError(
    `DateTime cannot represent ${describe(value)}: resolvers return a Date or a string from formatDateTime.`,
  );
}

export const DateTimeScalar = new GraphQLScalarType<DateTimeInput, string>({
  name: "DateTime",
  description:
    "A date and time in ISO 8601. Returned always with milliseconds and a numeric offset, never a bare time or " +
    '"Z": in the tenant\'s time zone ("2026-03-01T11:00:00.000+01:00") or in UTC ("2026-03-01T10:00:00.000+00:00"), ' +
    "as each field says. Accepted with an offset (Z, +01:00, fractions of a second allowed) as that exact instant, or " +
    'without one as a local time in the tenant\'s time zone: "2026-03-01T10:00:00", "2026-03-01T10:00", ' +
    '"2026-03-01 10:00:00" or "2026-03-01" for midnight. A local time the clocks skip (spring forward) is moved ' +
    "forward by the gap; one they repeat (fall back) means the first occurrence. Impossible dates and times " +
    '("2026-02-30", "25:00") are refused with the code INVALID_DATE_TIME.',
  serialize: serializeDateTime,
  parseValue: (value) => parseDateTimeValue(value),
  parseLiteral: (node) => parseDateTimeLiteral(node),
});

/** An unexpected value as JSON text, shortened: what a translated message quotes (it has no words to translate). */
function asJson(value: unknown): string {
  try {
    return shorten(JSON.stringify(value, (_key, part) => (typeof part === "bigint" ? part.toString() : part)) ?? "");
  } catch {
    return "";
  }
}

/** The JSON type of an unexpected value, as `describe` names it: what a translated message calls it. */
function jsonKind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "list";
  return typeof value;
}

/** A short, safe description of an unexpected value for an error message. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return `"${shorten(value)}"`;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : typeof value;
}

builder.addScalarType("Amount", AmountScalar);
builder.addScalarType("DateTime", DateTimeScalar);
