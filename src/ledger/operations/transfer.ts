// transfer: moves credits from one account to another of the same currency, atomically. The credits keep
// their nature: each grant the source spends reappears in the target as a grant with the same category,
// priority and expiry, so a transfer can neither extend nor shorten the life of promotional credits.
import { parsePositiveAmount } from "../amounts.ts";
import { type AccountExpectation, parseExpectation } from "../expectations.ts";
import { outcomeOf, type ActionOutcome } from "../outcome.ts";
import { failure, isFailure, type LedgerFailure, type LedgerResult } from "../result.ts";
import { rollback } from "../transaction.ts";
import type { WriteOptions } from "../validation.ts";
import type { CreditLot, Debit, GrantSpec } from "../write-session.ts";
import {
  draftOptions,
  type LedgerDependencies,
  lockOpenAccounts,
  type PreparedWrite,
  runPrepared,
} from "./money-write.ts";

export interface TransferInput extends WriteOptions {
  sourceAccountId: string;
  targetAccountId: string;
  amount: bigint | number | string;
  /** Refuse with ACCOUNT_CHANGED unless the source account is in this state (see expectations.ts). */
  expectedSource?: AccountExpectation | null;
  /** The same for the target account. */
  expectedTarget?: AccountExpectation | null;
}

export function transfer(
  deps: LedgerDependencies,
  tenantId: string,
  input: TransferInput,
): Promise<LedgerResult<ActionOutcome>> {
  return runPrepared(deps, tenantId, prepareTransfer(input), input);
}

/** Checks a transfer's input and prepares its write (see PreparedWrite). */
export function prepareTransfer(input: TransferInput): PreparedWrite | LedgerFailure {
  const amount = parsePositiveAmount(input.amount);
  if (isFailure(amount)) return amount;
  const expectedSource = parseExpectation(input.expectedSource, "expectedSource");
  if (isFailure(expectedSource)) return expectedSource;
  const expectedTarget = parseExpectation(input.expectedTarget, "expectedTarget");
  if (isFailure(expectedTarget)) return expectedTarget;
  if (input.sourceAccountId === input.targetAccountId) {
    return failure("SAME_ACCOUNT", "targetAccountId", "A transfer needs two different accounts.");
  }
  const parameters = { sourceAccountId: input.sourceAccountId, targetAccountId: input.targetAccountId, amount };
  return {
    operation: "transfer",
    parameters,
    accountIds: [input.sourceAccountId, input.targetAccountId],
    body: async (session, options, requestHash) => {
      const { sourceAccountId, targetAccountId } = input;
      await lockOpenAccounts(session, [
        { id: sourceAccountId, field: "sourceAccountId" },
        { id: targetAccountId, field: "targetAccountId" },
      ]);
      const source = session.account(sourceAccountId);
      const target = session.account(targetAccountId);
      if (source.currency !== target.currency) {
        rollback(
          failure(
            "CURRENCY_MISMATCH",
            "targetAccountId",
            `The accounts hold different currencies (${source.currency} and ${target.currency}).`,
            {
              source: source.currency,
              target: target.currency,
            },
          ),
        );
      }
      await session.settleDueGrants([sourceAccountId, targetAccountId]);
      // At a backdated time the source must have had the credits then, and the target's balances from then on,
      // each raised by the amount, must stay within the 64-bit range.
      const problem =
        session.checkExpected(sourceAccountId, expectedSource) ??
        session.checkExpected(targetAccountId, expectedTarget) ??
        session.checkDebit(sourceAccountId, amount) ??
        session.checkCredit(targetAccountId, amount) ??
        (await session.checkBackdated(options.effectiveAt, {
          debit: { accountId: sourceAccountId, amount, field: "amount" },
          credit: { accountId: targetAccountId, amount, field: "amount" },
        }));
      if (problem) rollback(problem);
      const action = await session.beginAction({
        type: "TRANSFER",
        amount,
        currency: source.currency,
        sourceAccountId,
        targetAccountId,
        requestHash,
        effectiveAt: options.effectiveAt,
        options: draftOptions(options),
      });
      const debit = await session.debit(action, sourceAccountId, amount);
      const credit = await session.credit(action, targetAccountId, mirrorLots(debit));
      return outcomeOf(action, [debit.entry, credit.entry], credit.createdGrants, session.settled);
    },
  };
}

/** A plain grant: what overdrawn credits become when they move (they had no grant to copy). */
export const plainGrant: GrantSpec = {
  name: null,
  category: "PAID",
  priority: 50,
  expiresAt: null,
  externalReference: null,
};

/**
 * The lots that reproduce a debit's grants in another account: one per distinct kind of grant spent, plus a
 * plain one for the overdrawn part, placed first so that an overdraft in the target is repaid from it.
 */
export function mirrorLots(debit: Debit): CreditLot[] {
  const lots = new Map<string, { spec: GrantSpec; amount: bigint }>();
  for (const { grant, amount } of debit.consumed) {
    const spec: GrantSpec = {
      name: grant.name,
      category: grant.category,
      priority: grant.priority,
      expiresAt: grant.expiresAt,
      externalReference: grant.externalReference,
    };
    const key = JSON.stringify([
      spec.name,
      spec.category,
      spec.priority,
      spec.expiresAt?.getTime() ?? null,
      spec.externalReference,
    ]);
    const lot = lots.get(key);
    if (lot) lot.amount += amount;
    else lots.set(key, { spec, amount });
  }
  const overdrawn: CreditLot[] = debit.overdrawn > 0n ? [{ spec: plainGrant, amount: debit.overdrawn }] : [];
  return [...overdrawn, ...lots.values()];
}
