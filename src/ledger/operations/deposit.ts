// deposit: credits an account by creating a grant (a lot of credits with a category, a spending priority and
// an optional expiry). A deposit into an overdrawn account repays the overdraft first.
//
// A deposit effective in the future (Stripe's credit grant with a later effective_at) is scheduled: its action
// and its grant are recorded now, the grant holding nothing and its amount counted in the account's
// `scheduled`; no entry is written and the balance does not change. When its effective time has come, the
// first write or read of the account (or the background job) records its entry at that time (see
// WriteSession.settleScheduledGrants), as next_lapse_at says it is due, so no read ever shows the account
// without it. Until then it can be voided (see void-grant.ts), and then it never takes effect.
import type { GrantCategory } from "../../generated/postgres/enums.ts";
import { parsePositiveAmount } from "../amounts.ts";
import { type AccountExpectation, parseExpectation } from "../expectations.ts";
import { outcomeOf, type ActionOutcome } from "../outcome.ts";
import { failure, isFailure, type LedgerFailure, type LedgerResult } from "../result.ts";
import { rollback } from "../transaction.ts";
import { checkDate, checkName, checkPriority, type WriteOptions } from "../validation.ts";
import {
  draftOptions,
  type LedgerDependencies,
  lockOpenAccounts,
  type PreparedWrite,
  runPrepared,
} from "./money-write.ts";

export interface DepositInput extends WriteOptions {
  accountId: string;
  /** Minor units: a bigint, a safe-integer number or a string of digits. */
  amount: bigint | number | string;
  grant?: {
    name?: string | null;
    category?: GrantCategory | null;
    /** 0..100, lower is spent first; default 50. */
    priority?: number | null;
    expiresAt?: Date | null;
  };
  /** Refuse with ACCOUNT_CHANGED unless the account is in this state (see expectations.ts). */
  expected?: AccountExpectation | null;
}

export function deposit(
  deps: LedgerDependencies,
  tenantId: string,
  input: DepositInput,
): Promise<LedgerResult<ActionOutcome>> {
  return runPrepared(deps, tenantId, prepareDeposit(input), input);
}

/** Checks a deposit's input and prepares its write (see PreparedWrite). */
export function prepareDeposit(input: DepositInput): PreparedWrite | LedgerFailure {
  const amount = parsePositiveAmount(input.amount, "amount", "reduce");
  if (isFailure(amount)) return amount;
  const priority = checkPriority(input.grant?.priority, "grant.priority");
  if (isFailure(priority)) return priority;
  const name = checkName(input.grant?.name, "grant.name", false);
  if (isFailure(name)) return name;
  const expiresAt = input.grant?.expiresAt ?? null;
  if (expiresAt !== null) {
    const problem = checkDate(expiresAt, "grant.expiresAt", "INVALID_EXPIRES_AT");
    if (problem) return problem;
  }
  const category = input.grant?.category ?? "PAID";
  const expected = parseExpectation(input.expected, "expected");
  if (isFailure(expected)) return expected;

  return {
    operation: "deposit",
    parameters: { accountId: input.accountId, amount, grant: { name, category, priority, expiresAt } },
    accountIds: [input.accountId],
    body: async (session, options, requestHash) => {
      if (expiresAt !== null && (expiresAt <= session.now || expiresAt <= options.effectiveAt)) {
        rollback(
          failure(
            "INVALID_EXPIRES_AT",
            "grant.expiresAt",
            "The expiry must be later than now and than the effective time.",
            {
              value: expiresAt.toISOString(),
            },
          ),
        );
      }
      await lockOpenAccounts(session, [{ id: input.accountId, field: "accountId" }]);
      await session.settleDueGrants([input.accountId]);
      // A backdated deposit adds to every balance from its time on, not only to the balance now.
      const problem =
        session.checkExpected(input.accountId, expected) ??
        session.checkCredit(input.accountId, amount) ??
        (await session.checkBackdatedCredit(input.accountId, amount, options.effectiveAt));
      if (problem) rollback(problem);
      const spec = { name, category, priority, expiresAt, externalReference: options.externalReference };
      const draft = {
        type: "DEPOSIT" as const,
        amount,
        currency: session.account(input.accountId).currency,
        sourceAccountId: null,
        targetAccountId: input.accountId,
        requestHash,
        effectiveAt: options.effectiveAt,
        options: draftOptions(options),
      };
      if (options.effectiveAt > session.now) {
        const scheduled = await session.scheduleDeposit(draft, input.accountId, spec);
        return outcomeOf(scheduled.action, [], [scheduled.grant], session.settled);
      }
      const action = await session.beginAction(draft);
      const credit = await session.credit(action, input.accountId, [{ spec, amount }]);
      return outcomeOf(action, [credit.entry], credit.createdGrants, session.settled);
    },
    schedulable: true,
  };
}
