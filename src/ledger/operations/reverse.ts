// reverse: undoes a deposit, reduction or transfer exactly once, with a REVERSAL action linked to it (the
// database allows one reversal per action). Credits go back where they came from: a reversed reduction
// refills the very grants it spent (if one of them has lapsed since, the refilled credits lapse again at
// once, through an expiration or void entry); a reversed deposit takes back from the grant it created first.
import { sql, type SqlRunner } from "../../db/sql.ts";
import type { CreditAction } from "../../generated/postgres/client.ts";
import { type AccountExpectation, type CheckedExpectation, parseExpectation } from "../expectations.ts";
import { outcomeOf, type ActionOutcome } from "../outcome.ts";
import { failure, isFailure, type LedgerFailure, type LedgerResult } from "../result.ts";
import { touchActionToReverse } from "../sql/actions.ts";
import { debitedGrants, grantById } from "../sql/grants.ts";
import { refusalOf, rollback } from "../transaction.ts";
import type { CheckedWriteOptions, WriteOptions } from "../validation.ts";
import type { CreditLot, WriteSession } from "../write-session.ts";
import { draftOptions, lockOpenAccounts, moneyWrite, type LedgerDependencies } from "./money-write.ts";
import { plainGrant } from "./transfer.ts";

export interface ReverseInput extends WriteOptions {
  actionId: string;
  /**
   * Refuse with ACCOUNT_CHANGED unless the reversal's source account (the one credits are taken back from: the
   * original's target) is in this state (see expectations.ts).
   */
  expectedSource?: AccountExpectation | null;
  /** The same for the reversal's target account (the one credits go back to: the original's source). */
  expectedTarget?: AccountExpectation | null;
}

export async function reverse(
  deps: LedgerDependencies,
  tenantId: string,
  input: ReverseInput,
): Promise<LedgerResult<ActionOutcome>> {
  const expectedSource = parseExpectation(input.expectedSource, "expectedSource");
  if (isFailure(expectedSource)) return expectedSource;
  const expectedTarget = parseExpectation(input.expectedTarget, "expectedTarget");
  if (isFailure(expectedTarget)) return expectedTarget;
  return moneyWrite(
    deps,
    tenantId,
    "reverse",
    { actionId: input.actionId },
    input,
    async (session, options, requestHash) => {
      const { tx } = session;
      const touched = await touchActionToReverse(tx, tenantId, input.actionId, session.now);
      if (!touched)
        rollback(
          failure("ACTION_NOT_FOUND", "actionId", "No credit action with this id exists.", { id: input.actionId }),
        );
      const { reversalId, ...original } = touched;
      if (original.type !== "DEPOSIT" && original.type !== "REDUCTION" && original.type !== "TRANSFER") {
        rollback(
          failure("NOT_REVERSIBLE", "actionId", "Only deposits, reductions and transfers can be reversed.", {
            type: original.type,
          }),
        );
      }
      if (reversalId !== null) rollback(alreadyReversed(reversalId));
      try {
        return await reverseUnderLock(session, original, options, requestHash, expectedSource, expectedTarget);
      } catch (error) {
        // On PostgreSQL the touch above waits for a concurrent reversal of the same action to commit, but reads
        // the reversal link as it was before (its statement's snapshot); the later statements see that reversal's
        // effects, so the refusal they lead to (no credits left to take back, an account that changed) may be its
        // consequence. Then the answer is the reversal itself (and a write that went on to insert its own
        // reversal fails on the one-reversal link and is retried, and the retry's touch sees it).
        if (refusalOf(error) !== null) {
          const reversal = await reversalOf(tx, original.id);
          if (reversal !== null) rollback(alreadyReversed(reversal));
        }
        throw error;
      }
    },
  );
}

function alreadyReversed(reversalId: string): LedgerFailure {
  return failure("ALREADY_REVERSED", "actionId", "This action has already been reversed.", { reversalId });
}

/** The reversal of the action, as committed now (a statement of its own, so a snapshot of its own). */
async function reversalOf(tx: SqlRunner, actionId: string): Promise<string | null> {
  const [row] = await tx.query<{ id: string }>(
    sql`SELECT id FROM credit_action WHERE reverses_action_id = ${actionId}`,
  );
  return row?.id ?? null;
}

/** The reversal once the original is found reversible: locks both accounts, checks, writes. */
async function reverseUnderLock(
  session: WriteSession,
  original: CreditAction,
  options: CheckedWriteOptions,
  requestHash: string,
  expectedSource: CheckedExpectation | null,
  expectedTarget: CheckedExpectation | null,
): Promise<ActionOutcome> {
  const { tx } = session;
  // Money comes back out of the account that received it and into the account that gave it.
  const takeFrom = original.targetAccountId;
  const giveTo = original.sourceAccountId;
  const accounts = [takeFrom, giveTo].filter((id): id is string => id !== null);
  await lockOpenAccounts(
    session,
    accounts.map((id) => ({ id, field: "actionId" })),
  );
  await session.settleDueGrants(accounts);
  // A scheduled deposit (only those name their grant) has no entry to reverse until it takes effect, and
  // none ever when its grant was voided before that: void the grant instead.
  if (original.type === "DEPOSIT" && original.grantId !== null) {
    const grant = await grantById(tx, original.grantId);
    if (grant && (grant.scheduledAmount > 0n || (grant.voidedAt !== null && grant.voidedAt < grant.effectiveAt))) {
      rollback(
        failure(
          "NOT_REVERSIBLE",
          "actionId",
          "The deposit is scheduled and has not taken effect; void its grant instead.",
          { type: original.type, reason: "scheduled", effectiveAt: grant.effectiveAt.toISOString() },
        ),
      );
    }
  }
  const problem =
    expectationOf(session, takeFrom, expectedSource) ??
    expectationOf(session, giveTo, expectedTarget) ??
    (takeFrom ? session.checkDebit(takeFrom, original.amount, "actionId") : null) ??
    (giveTo ? session.checkCredit(giveTo, original.amount, "actionId") : null) ??
    (await session.checkBackdated(options.effectiveAt, {
      debit: takeFrom ? { accountId: takeFrom, amount: original.amount, field: "actionId" } : null,
      credit: giveTo ? { accountId: giveTo, amount: original.amount, field: "actionId" } : null,
    }));
  if (problem) rollback(problem);

  const action = await session.beginAction({
    type: "REVERSAL",
    amount: original.amount,
    currency: original.currency,
    sourceAccountId: takeFrom,
    targetAccountId: giveTo,
    reversesActionId: original.id,
    requestHash,
    effectiveAt: options.effectiveAt,
    options: draftOptions(options),
  });
  const entries = [];
  if (takeFrom) {
    // The credits the original brought (its grants) go first.
    const debit = await session.debit(action, takeFrom, original.amount, { preferCreatedBy: original.id });
    entries.push(debit.entry);
  }
  if (giveTo) {
    const lots = await refillLots(session, original);
    const credit = await session.credit(action, giveTo, lots);
    entries.push(credit.entry);
    // Credits returned to a grant that lapsed meanwhile lapse again, no earlier than this reversal.
    const lapsed = lots.some(
      (lot) =>
        "grant" in lot &&
        (lot.grant.voidedAt !== null || (lot.grant.expiresAt !== null && lot.grant.expiresAt <= session.now)),
    );
    if (lapsed) await session.settleClosedGrants([giveTo], options.effectiveAt);
  }
  return outcomeOf(action, entries, [], session.settled);
}

/**
 * The lots that put back what `original` took from its source: the same grants (as they are now, under the
 * lock), and the overdrawn part.
 */
async function refillLots(session: WriteSession, original: CreditAction): Promise<CreditLot[]> {
  const spent = await debitedGrants(session.tx, original.id);
  const fromGrants = spent.reduce((sum, grant) => sum + grant.allocatedAmount, 0n);
  const overdrawn = original.amount - fromGrants;
  const lots: CreditLot[] = overdrawn > 0n ? [{ spec: plainGrant, amount: overdrawn }] : [];
  for (const { allocatedAmount, ...grant } of spent) lots.push({ grant, amount: allocatedAmount });
  return lots;
}

/**
 * ACCOUNT_CHANGED when the account moved since the caller read it; ACCOUNT_NOT_FOUND when the caller expects
 * something of a side the reversal does not have (a reversed deposit has no target, a reversed reduction no
 * source), since the condition cannot hold.
 */
function expectationOf(
  session: WriteSession,
  accountId: string | null,
  expectation: CheckedExpectation | null,
): LedgerFailure | null {
  if (expectation === null) return null;
  if (accountId === null) {
    return failure(
      "ACCOUNT_NOT_FOUND",
      expectation.field,
      "The reversal has no such account: a reversed deposit has no target, a reversed reduction no source.",
      { reason: "reversal-side" },
    );
  }
  return session.checkExpected(accountId, expectation);
}
