// reduce: debits an account, spending its grants by priority, then soonest expiry, then oldest. Refused with
// INSUFFICIENT_CREDITS when the balance would pass the overdraft limit (zero unless the account has one).
import { parsePositiveAmount } from "../amounts.ts";
import { type AccountExpectation, parseExpectation } from "../expectations.ts";
import { outcomeOf, type ActionOutcome } from "../outcome.ts";
import { isFailure, type LedgerFailure, type LedgerResult } from "../result.ts";
import { rollback } from "../transaction.ts";
import type { WriteOptions } from "../validation.ts";
import {
  draftOptions,
  type LedgerDependencies,
  lockOpenAccounts,
  type PreparedWrite,
  runPrepared,
} from "./money-write.ts";

export interface ReduceInput extends WriteOptions {
  accountId: string;
  amount: bigint | number | string;
  /** Refuse with ACCOUNT_CHANGED unless the account is in this state (see expectations.ts). */
  expected?: AccountExpectation | null;
}

export function reduce(
  deps: LedgerDependencies,
  tenantId: string,
  input: ReduceInput,
): Promise<LedgerResult<ActionOutcome>> {
  return runPrepared(deps, tenantId, prepareReduce(input), input);
}

/** Checks a reduction's input and prepares its write (see PreparedWrite). */
export function prepareReduce(input: ReduceInput): PreparedWrite | LedgerFailure {
  const amount = parsePositiveAmount(input.amount, "amount", "deposit");
  if (isFailure(amount)) return amount;
  const expected = parseExpectation(input.expected, "expected");
  if (isFailure(expected)) return expected;
  return {
    operation: "reduce",
    parameters: { accountId: input.accountId, amount },
    accountIds: [input.accountId],
    body: async (session, options, requestHash) => {
      await lockOpenAccounts(session, [{ id: input.accountId, field: "accountId" }]);
      await session.settleDueGrants([input.accountId]);
      const problem =
        session.checkExpected(input.accountId, expected) ??
        session.checkDebit(input.accountId, amount) ??
        (await session.checkBackdatedDebit(input.accountId, amount, options.effectiveAt));
      if (problem) rollback(problem);
      const action = await session.beginAction({
        type: "REDUCTION",
        amount,
        currency: session.account(input.accountId).currency,
        sourceAccountId: input.accountId,
        targetAccountId: null,
        requestHash,
        effectiveAt: options.effectiveAt,
        options: draftOptions(options),
      });
      const debit = await session.debit(action, input.accountId, amount);
      return outcomeOf(action, [debit.entry], [], session.settled);
    },
  };
}
