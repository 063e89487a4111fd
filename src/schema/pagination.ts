// Page sizes of the plain list connections (customers, stores, partners, grants), held to the same rule as
// histories: `first` and `last` from 1 to 100, refused with PAGE_SIZE_OUT_OF_RANGE rather than silently
// clamped, so a client asking for 500 learns that it got at most 100.
import { historyPageLimits } from "../ledger/history.ts";
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
