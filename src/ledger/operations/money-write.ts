// The frame every money-moving operation runs in: validate the common options, fingerprint the request, run
// the operation in a write session, assert the invariants, commit. Any business failure rolls everything
// back: nothing is written.
//
// Idempotency costs nothing on the happy path: the action's insert skips a taken key (see
// WriteSession.beginAction; on PostgreSQL the first attempt finds a taken key by a unique violation, and the
// retry inserts with the skip), and only then, or when the request is refused, is the key looked up, so that
// a retry is answered from the original whatever has happened since (a replay, or IDEMPOTENCY_KEY_REUSED).
import type { Database } from "../../db/client.ts";
import type { SqlRunner } from "../../db/sql.ts";
import { findReplay, requestFingerprint } from "../idempotency.ts";
import type { ActionOutcome, PreviewAction, WritePreview } from "../outcome.ts";
import { failure, isFailure, type LedgerFailure, type LedgerResult } from "../result.ts";
import { findReferences } from "../sql/accounts.ts";
import { refusalOf, rollback, runWrite, type TransactionSettings } from "../transaction.ts";
import { checkWriteOptions, type CheckedWriteOptions, type WriteOptions } from "../validation.ts";
import { IdempotencyKeyTaken, WriteSession } from "../write-session.ts";

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
  /** Whether the write may take effect in the future (a deposit: see checkWriteOptions). */
  schedulable = false,
): Promise<LedgerResult<T>> {
  const now = deps.clock();
  const checked = checkWriteOptions(options, now, schedulable);
  if (isFailure(checked)) return checked;
  const requestHash = fingerprintOf(operation, parameters, checked);
  const { database } = deps;
  const result = await runWrite(database, deps.transactions, async (tx, attempt) => {
    const references = { storeId: checked.storeId, partnerId: checked.partnerId };
    // The first attempt defers the action's and new grants' inserts to later statements (two round trips
    // fewer); it finds a taken idempotency key only by a unique violation, which retries, and the retry
    // inserts at once and looks the key up (see WriteSession.beginAction).
    const session = new WriteSession(tx, database.engine, tenantId, now, references, {
      deferInserts: attempt === 1,
    });
    try {
      const outcome = await body(session, checked, requestHash);
      const accounts = await session.finish();
      // A dry run goes as far as a write goes, every check and assertion included, and then rolls back: its
      // answer is exactly what the write would do, and it leaves no row, no lock and no idempotency key behind.
      if (options.dryRun === true) rollback({ ...outcome, accounts: [], preview: previewOf(session, outcome) });
      return { ...outcome, accounts };
    } catch (error) {
      const refusal = refusalOf(error);
      if (refusal === null && !(error instanceof IdempotencyKeyTaken)) throw error;
      // The original answer comes first: a refused request may be the retry of one that was written.
      const replay = await findReplay(tx, tenantId, checked.idempotencyKey, requestHash, checked.initiator.apiKeyId);
      if (replay !== null) rollback(replay);
      if (refusal === null) throw new Error("Bug: the idempotency key was taken, but no action holds it.");
      // Then an unknown store or partner, as if they had been checked before anything else.
      rollback((session.referencesChecked ? null : await checkReferences(tx, tenantId, checked)) ?? refusal);
    }
  });
  if (isFailure(result)) return result;
  return { ok: true, ...result };
}

/**
 * A write checked for everything that needs no database, ready to run in a write session: alone (through
 * moneyWrite) or as one item of a batch (see batch.ts), which runs several in one session.
 */
export interface PreparedWrite<T extends ActionOutcome = ActionOutcome> {
  operation: string;
  /** What the idempotency fingerprint covers, besides the common options. */
  parameters: Record<string, unknown>;
  /** Every account the write touches, for a batch to lock them all up front, in one statement. */
  accountIds: string[];
  /** Holds whose accounts the write touches (a capture or release knows only the hold), locked likewise. */
  holdIds?: string[];
  /** Whether a future effective time schedules the write (deposits, see deposit.ts) instead of being refused. */
  schedulable?: boolean;
  body: MoneyWriteBody<T>;
}

/** Runs a prepared write as one transaction of its own. */
export function runPrepared<T extends ActionOutcome>(
  deps: LedgerDependencies,
  tenantId: string,
  prepared: PreparedWrite<T> | LedgerFailure,
  options: WriteOptions,
): Promise<LedgerResult<T>> {
  if (isFailure(prepared)) return Promise.resolve(prepared);
  return moneyWrite(
    deps,
    tenantId,
    prepared.operation,
    prepared.parameters,
    options,
    prepared.body,
    prepared.schedulable ?? false,
  );
}

/** The fingerprint of a write: its operation, its parameters and the common options as checked. */
export function fingerprintOf(
  operation: string,
  parameters: Record<string, unknown>,
  checked: CheckedWriteOptions,
): string {
  return requestFingerprint(operation, {
    ...parameters,
    note: checked.note,
    storeId: checked.storeId,
    partnerId: checked.partnerId,
    externalReference: checked.externalReference,
    effectiveAt: checked.requestedEffectiveAt,
    initiator: { type: checked.initiator.type, id: checked.initiator.id },
  });
}

/**
 * Store and partner must be the tenant's own; another tenant's behaves exactly like a missing one. Normally
 * checked by the statement that locks the accounts; this is for refusals that come before it.
 */
async function checkReferences(
  tx: SqlRunner,
  tenantId: string,
  options: CheckedWriteOptions,
): Promise<LedgerFailure | null> {
  if (options.storeId === null && options.partnerId === null) return null;
  const found = await findReferences(tx, tenantId, { storeId: options.storeId, partnerId: options.partnerId });
  if (options.storeId !== null && !found.storeFound) return storeNotFound(options.storeId);
  if (options.partnerId !== null && !found.partnerFound) return partnerNotFound(options.partnerId);
  return null;
}

export function storeNotFound(id: string): LedgerFailure {
  return failure("STORE_NOT_FOUND", "storeId", "No store with this id exists.", { id });
}

export function partnerNotFound(id: string): LedgerFailure {
  return failure("PARTNER_NOT_FOUND", "partnerId", "No partner with this id exists.", { id });
}

/** Locks the accounts and refuses closed ones; rolls back with the failure otherwise. */
export async function lockOpenAccounts(
  session: WriteSession,
  accounts: { id: string; field: string }[],
): Promise<void> {
  const problem = await session.lock(accounts);
  if (problem) rollback(problem);
  for (const { id, field } of accounts) refuseClosed(session, id, field);
}

/** Refuses (rolls back) a closed account: it takes no more actions. */
export function refuseClosed(session: WriteSession, accountId: string, field: string): void {
  if (session.account(accountId).status === "CLOSED") {
    rollback(
      failure("ACCOUNT_CLOSED", field, "The credit account is closed; it takes no more actions.", { id: accountId }),
    );
  }
}

export function draftOptions(options: CheckedWriteOptions) {
  const { effectiveAt: _effectiveAt, requestedEffectiveAt: _requested, ...rest } = options;
  return rest;
}

/** What the session recorded, grouped by action: the operation's own, and the expirations settled before it. */
export function previewOf(session: WriteSession, outcome: ActionOutcome): WritePreview {
  const of = (action: ActionOutcome["action"]): PreviewAction => ({
    action,
    entries: session.recorded.entries.filter((entry) => entry.actionId === action.id),
    allocations: session.recorded.allocations.filter((allocation) => allocation.actionId === action.id),
  });
  return { action: of(outcome.action), settled: session.settled.map(of) };
}
