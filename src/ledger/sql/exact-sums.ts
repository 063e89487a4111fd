// Sums of an account's signed entry amounts that stay exact on both engines. An account's balance never leaves
// the 64-bit range (BALANCE_OUT_OF_RANGE), but its credits or debits in all may, and so may a balance in the
// past (a credit backdated before a large debit adds to every balance between the two). SQLite's SUM of
// integers fails beyond the range (PostgreSQL's is numeric): so each amount is summed in two halves, its
// multiples of 2^32 and the rest, each far from the bound for any number of entries a database can hold, and
// `exactSum` puts the two sums together in BigInt.
import { sql } from "../../db/sql.ts";

const half = 4_294_967_296n; // 2^32

/** An entry's multiples of 2^32, negative for a debit: SUM it, with `signedLow`, and pass both to exactSum. */
export const signedHigh = sql`CASE WHEN direction = ${"CREDIT"} THEN amount / ${half} ELSE -(amount / ${half}) END`;

/** An entry's amount below 2^32, negative for a debit. */
export const signedLow = sql`CASE WHEN direction = ${"CREDIT"} THEN amount % ${half} ELSE -(amount % ${half}) END`;

/**
 * The sum, from SUM(signedHigh) and SUM(signedLow) as the engines return them: PostgreSQL's numeric as text,
 * SQLite's integer, or null when no row was summed (zero). All convert exactly.
 */
export function exactSum(high: unknown, low: unknown): bigint {
  const exact = (value: unknown) => (value === null || value === undefined ? 0n : BigInt(String(value)));
  return exact(high) * half + exact(low);
}
