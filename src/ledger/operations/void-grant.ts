// voidGrant: ends a grant early (Stripe's voided_at). Its remaining credits leave the balance through a VOID
// action at the void's effective time; what was already spent stays spent.
//
// A grant that is still scheduled (its deposit effective later, see deposit.ts) is cancelled instead: the VOID
// action is recorded without an entry, its amount leaves the account's `scheduled`, and the deposit never
// takes effect. Its credits were never in the balance, so neither the deposit nor the void appears in the
// history. A scheduled grant whose effective time has come is settled first (as every write settles what is
// due), and is then voided like any other grant: under the account's lock, one of the two happens first.
import type { CreditGrant } from "../../generated/postgres/client.ts";
import { type AccountExpectation, type CheckedExpectation, parseExpectation } from "../expectations.ts";
import { lastSpentAt } from "../sql/backdated.ts";
import { grantById } from "../sql/grants.ts";
import { outcomeOf, type ActionOutcome } from "../outcome.ts";
import { failure, isFailure, type LedgerResult } from "../result.ts";
import { rollback } from "../transaction.ts";
import type { WriteOptions } from "../validation.ts";
import type { WriteSession } from "../write-session.ts";
import { draftOptions, moneyWrite, refuseClosed, type LedgerDependencies } from "./money-write.ts";

export interface VoidGrantInput extends WriteOptions {
  grantId: string;
  /** Refuse with ACCOUNT_CHANGED unless the grant's account is in this state (see expectations.ts). */
  expected?: AccountExpectation | null;
}

/**
 * Voids the grant; the outcome's action is the VOID entry (its grantId names the grant). Only a grant that
 * still holds credits can be voided: an expired, depleted or already void grant is refused with
 * GRANT_NOT_ACTIVE, so every void is a ledger entry and a retried void is answered from it. A void that would
 * take credits pending holds rely on (leave `available` below zero) is refused with CREDITS_HELD.
 */
export async function voidGrant(
  deps: LedgerDependencies,
  tenantId: string,
  input: VoidGrantInput,
): Promise<LedgerResult<ActionOutcome>> {
  const expected = parseExpectation(input.expected, "expected");
  if (isFailure(expected)) return expected;
  return moneyWrite(
    deps,
    tenantId,
    "voidGrant",
    { grantId: input.grantId },
    input,
    async (session, options, requestHash) => {
      // The account is locked through the grant (one statement), and the grant read under that lock.
      const { accountId, grant } = await lockActiveGrant(
        session,
        input.grantId,
        expected,
        "The grant holds no credits any more; there is nothing to void.",
        true,
      );
      // The VOID takes what the grant holds, or, while it is scheduled, what it would have brought.
      const voidDraft = (amount: bigint) => ({
        type: "VOID" as const,
        amount,
        currency: session.account(accountId).currency,
        sourceAccountId: accountId,
        targetAccountId: null,
        grantId: grant.id,
        requestHash,
        effectiveAt: options.effectiveAt,
        options: draftOptions(options),
      });
      if (grant.scheduledAmount > 0n) {
        const action = await session.beginAction(voidDraft(grant.scheduledAmount));
        await session.cancelScheduled(grant, options.effectiveAt);
        return outcomeOf(action, [], [], session.settled);
      }
      // A backdated void takes the credits out at its effective time: the grant must have been in effect by
      // then, and every later balance must stay within the account's limit.
      if (grant.effectiveAt > options.effectiveAt) {
        rollback(
          failure("GRANT_NOT_ACTIVE", "grantId", "The grant was not yet in effect at the void's effective time.", {
            state: "NOT_YET_EFFECTIVE",
            effectiveAt: grant.effectiveAt.toISOString(),
          }),
        );
      }
      const problem =
        session.checkHeldCovered(accountId, { taken: grant.remainingAmount }, "grantId") ??
        (await session.checkBackdatedDebit(accountId, grant.remainingAmount, options.effectiveAt, "effectiveAt"));
      if (problem) rollback(problem);
      // A debit recorded later than the void's time spent this grant: voiding it earlier would make that debit
      // have spent void credits (only a backdated void asks).
      const spentAt = options.effectiveAt < session.now ? await lastSpentAt(session.tx, grant.id) : null;
      if (spentAt !== null && spentAt > options.effectiveAt) {
        rollback(
          failure(
            "INVALID_EFFECTIVE_AT",
            "effectiveAt",
            "Credits of this grant were spent after that time; a void cannot take effect before the grant's last use.",
            { lastSpentAt: spentAt.toISOString() },
          ),
        );
      }
      const action = await session.beginAction(voidDraft(grant.remainingAmount));
      const debit = await session.debitWholeGrant(action, grant, options.effectiveAt);
      return outcomeOf(action, [debit.entry], [], session.settled);
    },
  );
}

/**
 * Locks the account holding the grant, records what has lapsed on it, checks the caller's expectation, and
 * returns the grant if it still holds credits (or, with `scheduled`, is still scheduled); rolls back with
 * GRANT_NOT_ACTIVE (void, expired, depleted or, without `scheduled`, scheduled), ACCOUNT_CHANGED, or the lock's
 * own refusal otherwise. Shared by the operations that act on one live grant (voidGrant, changeGrantExpiry);
 * `depleted` says why a spent grant cannot take this one.
 */
export async function lockActiveGrant(
  session: WriteSession,
  grantId: string,
  expected: CheckedExpectation | null,
  depleted: string,
  scheduled = false,
): Promise<{ accountId: string; grant: CreditGrant }> {
  const accountId = await session.lockHolderOfGrant(grantId, "grantId");
  if (isFailure(accountId)) rollback(accountId);
  refuseClosed(session, accountId, "grantId");
  await session.settleDueGrants([accountId]);
  const changed = session.checkExpected(accountId, expected);
  if (changed) rollback(changed);
  const grant = await grantById(session.tx, grantId);
  if (!grant) throw new Error(`Bug: grant ${grantId} vanished under its account's lock.`);
  // Only credits still held can be voided or lapse: an expired, void or spent grant has nothing left.
  if (grant.voidedAt !== null) {
    rollback(failure("GRANT_NOT_ACTIVE", "grantId", "The grant is already void.", { state: "VOIDED" }));
  }
  // Settled above if its time had come: a grant still scheduled here takes effect later.
  if (grant.scheduledAmount > 0n) {
    if (scheduled) return { accountId, grant };
    rollback(
      failure("GRANT_NOT_ACTIVE", "grantId", "The grant is scheduled and has not taken effect yet.", {
        state: "SCHEDULED",
        effectiveAt: grant.effectiveAt.toISOString(),
      }),
    );
  }
  if (grant.expiresAt !== null && grant.expiresAt <= session.now) {
    rollback(failure("GRANT_NOT_ACTIVE", "grantId", "The grant has expired.", { state: "EXPIRED" }));
  }
  if (grant.remainingAmount === 0n) rollback(failure("GRANT_NOT_ACTIVE", "grantId", depleted, { state: "DEPLETED" }));
  return { accountId, grant };
}
