// changeGrantExpiry: extends or shortens the expiry of an active grant (Orb's expiration_change), through an
// EXPIRATION_CHANGE action with one entry in the account's history. The entry moves nothing (amount 0, the
// balance unchanged); the action's amount is what the grant held, and it records the expiry before and after.
//
// The change takes effect when it is recorded: it cannot be backdated, because moving an expiry in the past
// would change which credits earlier debits could spend. For the same reason a new expiry that has already
// passed becomes the time of the change itself: the grant expires at once, through an EXPIRATION entry right
// after the change, and the past stays as it was recorded. The account's next_lapse_at follows from the grants
// in the same write (see writeBalances).
import { type AccountExpectation, parseExpectation } from "../expectations.ts";
import { outcomeOf, type ActionOutcome } from "../outcome.ts";
import { failure, isFailure, type LedgerResult } from "../result.ts";
import { setExpiry } from "../sql/grants.ts";
import { rollback } from "../transaction.ts";
import { checkDate, type WriteOptions } from "../validation.ts";
import { draftOptions, moneyWrite, type LedgerDependencies } from "./money-write.ts";
import { lockActiveGrant } from "./void-grant.ts";

export interface ChangeGrantExpiryInput extends WriteOptions {
  grantId: string;
  /** The new expiry; null for never. */
  expiresAt: Date | null;
  /** Refuse with ACCOUNT_CHANGED unless the grant's account is in this state (see expectations.ts). */
  expected?: AccountExpectation | null;
}

export async function changeGrantExpiry(
  deps: LedgerDependencies,
  tenantId: string,
  input: ChangeGrantExpiryInput,
): Promise<LedgerResult<ActionOutcome>> {
  const requested = input.expiresAt ?? null;
  if (requested !== null) {
    const problem = checkDate(requested, "expiresAt", "INVALID_EXPIRES_AT");
    if (problem) return problem;
  }
  const expected = parseExpectation(input.expected, "expected");
  if (isFailure(expected)) return expected;
  return moneyWrite(
    deps,
    tenantId,
    "changeGrantExpiry",
    { grantId: input.grantId, expiresAt: requested },
    input,
    async (session, options, requestHash) => {
      if (session.isBackdated(options.effectiveAt)) {
        rollback(
          failure(
            "INVALID_EFFECTIVE_AT",
            "effectiveAt",
            "An expiry change takes effect when it is recorded; it cannot be backdated.",
            { value: options.effectiveAt.toISOString(), reason: "backdated" },
          ),
        );
      }
      const { accountId, grant } = await lockActiveGrant(
        session,
        input.grantId,
        expected,
        "The grant holds no credits any more; its expiry cannot change.",
      );
      if (requested !== null && requested <= grant.effectiveAt) {
        rollback(
          failure(
            "INVALID_EXPIRES_AT",
            "expiresAt",
            `The expiry must be later than the grant's effective time (${grant.effectiveAt.toISOString()}).`,
            { value: requested.toISOString(), grantEffectiveAt: grant.effectiveAt.toISOString() },
          ),
        );
      }
      // A time already passed: the grant expires now, at the change.
      const expiresAt = requested !== null && requested < session.now ? session.now : requested;
      // Expiring at once takes the grant's credits like a void: not those that pending holds rely on. A later
      // expiry is accepted even before a hold's: that grant then lapses at its time, which nothing can refuse.
      if (expiresAt !== null && expiresAt <= session.now) {
        const held = session.checkHeldCovered(accountId, { taken: grant.remainingAmount }, "expiresAt");
        if (held) rollback(held);
      }
      const action = await session.beginAction({
        type: "EXPIRATION_CHANGE",
        amount: grant.remainingAmount,
        currency: session.account(accountId).currency,
        sourceAccountId: null,
        targetAccountId: accountId,
        grantId: grant.id,
        previousExpiresAt: grant.expiresAt,
        newExpiresAt: expiresAt,
        requestHash,
        effectiveAt: options.effectiveAt,
        options: draftOptions(options),
      });
      await setExpiry(session.tx, grant.id, expiresAt, session.now);
      const entry = session.recordWithoutAmount(action, accountId);
      if (expiresAt !== null && expiresAt <= session.now) await session.settleClosedGrants([accountId]);
      return outcomeOf(action, [entry], [], session.settled);
    },
  );
}
