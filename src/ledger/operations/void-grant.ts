// voidGrant: ends a grant early (Stripe's voided_at). Its remaining credits leave the balance through a VOID
// action at the void's effective time; what was already spent stays spent.
import { outcomeOf, type ActionOutcome } from "../outcome.ts";
import { failure, type LedgerResult } from "../result.ts";
import { rollback } from "../transaction.ts";
import type { WriteOptions } from "../validation.ts";
import { draftOptions, lockOpenAccounts, moneyWrite, type LedgerDependencies } from "./money-write.ts";

export interface VoidGrantInput extends WriteOptions {
  grantId: string;
}

/**
 * Voids the grant; the outcome's action is the VOID entry (its grantId names the grant). Only a grant that
 * still holds credits can be voided: an expired, depleted or already void grant is refused with
 * GRANT_NOT_ACTIVE, so every void is a ledger entry and a retried void is answered from it.
 */
export async function voidGrant(deps: LedgerDependencies, tenantId: string, input: VoidGrantInput): Promise<LedgerResult<ActionOutcome>> {
  return moneyWrite(deps, tenantId, "voidGrant", { grantId: input.grantId }, input, async (session, options, requestHash) => {
    const { tx } = session;
    const found = await tx.creditGrant.findFirst({ where: { id: input.grantId, tenantId }, select: { accountId: true } });
    if (!found) rollback(failure("GRANT_NOT_FOUND", "grantId", "No credit grant with this id exists.", { id: input.grantId }));
    await lockOpenAccounts(session, [{ id: found.accountId, field: "grantId" }]);
    await session.settleClosedGrants([found.accountId]);
    const grant = await tx.creditGrant.findUniqueOrThrow({ where: { id: input.grantId } });
    if (grant.voidedAt !== null) {
      rollback(failure("GRANT_NOT_ACTIVE", "grantId", "The grant is already void.", { state: "VOIDED" }));
    }
    if (grant.expiresAt !== null && grant.expiresAt <= session.now) {
      rollback(failure("GRANT_NOT_ACTIVE", "grantId", "The grant has expired.", { state: "EXPIRED" }));
    }
    if (grant.remainingAmount === 0n) {
      rollback(failure("GRANT_NOT_ACTIVE", "grantId", "The grant holds no credits any more; there is nothing to void.", { state: "DEPLETED" }));
    }
    await tx.creditGrant.update({
      where: { id: grant.id },
      data: { voidedAt: options.effectiveAt, updatedAt: session.now },
    });
    const action = await session.beginAction({
      type: "VOID",
      amount: grant.remainingAmount,
      currency: session.account(grant.accountId).currency,
      sourceAccountId: grant.accountId,
      targetAccountId: null,
      grantId: grant.id,
      requestHash,
      effectiveAt: options.effectiveAt,
      options: draftOptions(options),
    });
    const debit = await session.debit(action, grant.accountId, grant.remainingAmount, { onlyGrantId: grant.id });
    return outcomeOf(action, [debit.entry], [], session.settled);
  });
}
