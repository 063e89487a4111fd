// The frame every money-moving operation runs in: validate the common options, fingerprint the request,
// answer a replay from the stored action, check the store and partner, run the operation in a write session,
// assert the invariants, commit. Any business failure rolls everything back: nothing is written.
import type { Database } from "../../db/client.ts";
import { findReplay, requestFingerprint } from "../idempotency.ts";
import type { ActionOutcome } from "../outcome.ts";
import { failure, isFailure, type LedgerFailure, type LedgerResult } from "../result.ts";
import { rollback, runWrite, type TransactionSettings } from "../transaction.ts";
import { checkWriteOptions, type CheckedWriteOptions, type WriteOptions } from "../validation.ts";
import { WriteSession } from "../write-session.ts";

export interface LedgerDependencies {
  database: Database;
  /** The ledger's notion of now; tests move it to make grants expire. */
  clock: () => Date;
  transactions: TransactionSettings;
}

export type MoneyWriteBody<T> = (
  session: WriteSession,
  options: CheckedWriteOptions,
  requestHash: string,
) => Promise<T>;

export async function moneyWrite<T extends ActionOutcome>(
  deps: LedgerDependencies,
  tenantId: string,
  operation: string,
  parameters: Record<string, unknown>,
  options: WriteOptions,
  body: MoneyWriteBody<T>,
): Promise<LedgerResult<T>> {
  const now = deps.clock();
  const checked = checkWriteOptions(options, now);
  if (isFailure(checked)) return checked;
  const requestHash = requestFingerprint(operation, {
    ...parameters,
    note: checked.note,
    storeId: checked.storeId,
    partnerId: checked.partnerId,
    externalReference: checked.externalReference,
    effectiveAt: checked.requestedEffectiveAt,
    initiator: { type: checked.initiator.type, id: checked.initiator.id },
  });
  const result = await runWrite(deps.database, deps.transactions, async (tx) => {
    const replay = await findReplay(tx, tenantId, checked.idempotencyKey, requestHash);
    if (replay !== null) return isFailure(replay) ? rollback(replay) : (replay as T);
    const session = new WriteSession(tx, deps.database.engine, tenantId, now);
    const referenceProblem = await checkReferences(session, checked);
    if (referenceProblem) rollback(referenceProblem);
    const outcome = await body(session, checked, requestHash);
    await session.finish();
    return outcome;
  });
  if (isFailure(result)) return result;
  return { ok: true, ...result };
}

/** Store and partner must be the tenant's own; another tenant's behaves exactly like a missing one. */
async function checkReferences(session: WriteSession, options: CheckedWriteOptions): Promise<LedgerFailure | null> {
  const { tx, tenantId } = session;
  if (options.storeId !== null) {
    const store = await tx.store.findFirst({ where: { id: options.storeId, tenantId }, select: { id: true } });
    if (!store) return failure("STORE_NOT_FOUND", "storeId", "No store with this id exists.", { id: options.storeId });
  }
  if (options.partnerId !== null) {
    const partner = await tx.partner.findFirst({ where: { id: options.partnerId, tenantId }, select: { id: true } });
    if (!partner) return failure("PARTNER_NOT_FOUND", "partnerId", "No partner with this id exists.", { id: options.partnerId });
  }
  return null;
}

/** Locks the accounts and refuses closed ones; rolls back with the failure otherwise. */
export async function lockOpenAccounts(session: WriteSession, accounts: { id: string; field: string }[]): Promise<void> {
  const problem = await session.lock(accounts);
  if (problem) rollback(problem);
  for (const { id, field } of accounts) {
    if (session.account(id).status === "CLOSED") {
      rollback(failure("ACCOUNT_CLOSED", field, "The credit account is closed; it takes no more actions.", { id }));
    }
  }
}

export function draftOptions(options: CheckedWriteOptions) {
  const { effectiveAt: _effectiveAt, requestedEffectiveAt: _requested, ...rest } = options;
  return rest;
}
