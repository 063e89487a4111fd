// reverse: undoes a deposit, reduction or transfer exactly once, with a REVERSAL action linked to it (the
// database allows one reversal per action). Credits go back where they came from: a reversed reduction
// refills the very grants it spent (if one of them has lapsed since, the refilled credits lapse again at
// once, through an expiration or void entry); a reversed deposit takes back from the grant it created first.
import type { CreditAction, CreditGrant } from "../../generated/postgres/client.ts";
import { outcomeOf, type ActionOutcome } from "../outcome.ts";
import { failure, type LedgerResult } from "../result.ts";
import { rollback } from "../transaction.ts";
import type { WriteOptions } from "../validation.ts";
import type { CreditLot, WriteSession } from "../write-session.ts";
import { draftOptions, lockOpenAccounts, moneyWrite, type LedgerDependencies } from "./money-write.ts";
import { plainGrant } from "./transfer.ts";

export interface ReverseInput extends WriteOptions {
  actionId: string;
}

export async function reverse(deps: LedgerDependencies, tenantId: string, input: ReverseInput): Promise<LedgerResult<ActionOutcome>> {
  return moneyWrite(deps, tenantId, "reverse", { actionId: input.actionId }, input, async (session, options, requestHash) => {
    const { tx } = session;
    const original = await tx.creditAction.findFirst({ where: { id: input.actionId, tenantId } });
    if (!original) rollback(failure("ACTION_NOT_FOUND", "actionId", "No credit action with this id exists.", { id: input.actionId }));
    if (original.type !== "DEPOSIT" && original.type !== "REDUCTION" && original.type !== "TRANSFER") {
      rollback(
        failure("NOT_REVERSIBLE", "actionId", "Only deposits, reductions and transfers can be reversed.", { type: original.type }),
      );
    }
    const existing = await tx.creditAction.findUnique({ where: { reversesActionId: original.id }, select: { id: true } });
    if (existing) {
      rollback(failure("ALREADY_REVERSED", "actionId", "This action has already been reversed.", { reversalId: existing.id }));
    }

    // Money comes back out of the account that received it and into the account that gave it.
    const takeFrom = original.targetAccountId;
    const giveTo = original.sourceAccountId;
    const accounts = [takeFrom, giveTo].filter((id): id is string => id !== null);
    await lockOpenAccounts(session, accounts.map((id) => ({ id, field: "actionId" })));
    await session.settleClosedGrants(accounts);
    const problem =
      (takeFrom ? session.checkDebit(takeFrom, original.amount, "actionId") : null) ??
      (giveTo ? session.checkCredit(giveTo, original.amount, "actionId") : null);
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
      const created = await tx.creditGrant.findMany({ where: { createdByActionId: original.id }, select: { id: true } });
      const debit = await session.debit(action, takeFrom, original.amount, { preferredGrantIds: created.map((grant) => grant.id) });
      entries.push(debit.entry);
    }
    if (giveTo) {
      const credit = await session.credit(action, giveTo, await refillLots(session, original));
      entries.push(credit.entry);
      // Credits returned to a grant that lapsed meanwhile lapse again, no earlier than this reversal.
      await session.settleClosedGrants([giveTo], options.effectiveAt);
    }
    await tx.creditAction.update({ where: { id: original.id }, data: { updatedAt: session.now } });
    return outcomeOf(action, entries, [], session.settled);
  });
}

/** The lots that put back what `original` took from its source: the same grants, and the overdrawn part. */
async function refillLots(session: WriteSession, original: CreditAction): Promise<CreditLot[]> {
  const spent = await session.tx.creditAllocation.findMany({
    where: { actionId: original.id, direction: "DEBIT" },
    include: { grant: true },
    orderBy: { grantId: "asc" },
  });
  const fromGrants = spent.reduce((sum, allocation) => sum + allocation.amount, 0n);
  const overdrawn = original.amount - fromGrants;
  const lots: CreditLot[] = overdrawn > 0n ? [{ spec: plainGrant, amount: overdrawn }] : [];
  for (const allocation of spent) lots.push({ grant: allocation.grant as CreditGrant, amount: allocation.amount });
  return lots;
}
