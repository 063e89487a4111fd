// Exact integer amounts in minor units. Everything stays a bigint; JavaScript numbers are accepted at the
// edge only when they are safe integers, because a larger number has already lost digits.
import { failure, type LedgerFailure } from "./result.ts";

export const int64Max = 9_223_372_036_854_775_807n;
export const int64Min = -9_223_372_036_854_775_808n;

// The canonical decimal form: no plus, no leading zeros, no spaces, ASCII digits only, and no "-0".
const integerPattern = /^(0|-?[1-9][0-9]*)$/;

/**
 * Reads a positive amount from a bigint, a safe-integer number or a decimal string of digits. `opposite` names
 * the operation that moves credits the other way: a client used to posting one signed amount (Inveterate's
 * `{ amount: -5 }`) is told to send a negative amount there, as a positive one.
 */
export function parsePositiveAmount(
  value: unknown,
  field = "amount",
  opposite: "deposit" | "reduce" | null = null,
): bigint | LedgerFailure {
  const amount = parseInteger(value, field);
  if (typeof amount !== "bigint") return amount;
  // The opposite operation is suggested only with an amount it takes (-(-2^63) is beyond the 64-bit range).
  if (amount < 0n && opposite !== null && -amount <= int64Max) {
    const verb = opposite === "reduce" ? "take credits off" : "add credits";
    return failure(
      "AMOUNT_NOT_POSITIVE",
      field,
      `The amount must be greater than zero; got ${amount}. To ${verb}, use ${opposite} with the amount ${-amount}.`,
      { value: amount.toString(), use: opposite, amount: (-amount).toString() },
    );
  }
  if (amount <= 0n) {
    return failure("AMOUNT_NOT_POSITIVE", field, `The amount must be greater than zero; got ${amount}.`, {
      value: amount.toString(),
    });
  }
  return amount;
}

/** Reads an amount of either sign (an expected balance, which may be negative when overdrawn). */
export function parseAmount(value: unknown, field: string): bigint | LedgerFailure {
  return parseInteger(value, field);
}

/** Reads a zero-or-positive amount (an overdraft limit). */
export function parseNonNegativeAmount(value: unknown, field: string, code: "INVALID_OVERDRAFT_LIMIT") {
  const amount = parseInteger(value, field);
  if (typeof amount !== "bigint") return amount;
  if (amount < 0n) {
    return failure(code, field, `The value must be zero or more; got ${amount}.`, { value: amount.toString() });
  }
  return amount;
}

function parseInteger(value: unknown, field: string): bigint | LedgerFailure {
  let amount: bigint;
  if (typeof value === "bigint") {
    amount = value;
  } else if (typeof value === "number") {
    if (!Number.isInteger(value)) {
      return failure("INVALID_AMOUNT", field, `The amount must be a whole number of minor units; got ${value}.`, {
        value: String(value),
      });
    }
    if (!Number.isSafeInteger(value)) {
      return failure(
        "INVALID_AMOUNT",
        field,
        `The amount ${value} is too large to be exact as a JSON number; send it as a string of digits.`,
        { value: String(value) },
      );
    }
    amount = BigInt(value);
  } else if (typeof value === "string") {
    if (!integerPattern.test(value)) {
      return failure(
        "INVALID_AMOUNT",
        field,
        `The amount must be a whole number of minor units written with digits only; got "${truncate(value)}".`,
        { value: truncate(value) },
      );
    }
    amount = BigInt(value);
  } else {
    return failure("INVALID_AMOUNT", field, "The amount must be a whole number of minor units.", { value: "" });
  }
  if (amount > int64Max || amount < int64Min) {
    return failure("AMOUNT_OUT_OF_RANGE", field, `The amount must lie within the 64-bit range (at most ${int64Max}).`, {
      value: truncate(amount.toString()),
      max: int64Max.toString(),
    });
  }
  return amount;
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

export function minBigInt(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

export function maxBigInt(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
