// Batches: a list of deposits, reductions, transfers and hold authorizations, captures and releases applied
// all or nothing, in one database transaction (TigerBeetle's linked transfers, Blnk's bulk transactions).
//
// Every item is checked first for what needs no database, and every item that fails is reported with its
// index. Then one transaction inserts the batch row (which takes the idempotency key), locks every account
// the items touch (those holding the holds to capture or release included) in one statement, in id order (so batches and single writes, which lock the same way,
// cannot deadlock), and runs the items in order in one write session: each item sees the balances the items
// before it left, and its `expected` states are compared with those. The first item the ledger refuses rolls
// the whole transaction back and is reported with its index: nothing is written. On success the batch's
// items (its actions in order) are written last, so a stored batch always has every one of its actions;
// verify checks that.
//
// The items take the same fields as the single mutations, minus the idempotency key and the dry run, which
// belong to the batch. A batch's key is its own: it is stored on the batch, not on its actions, and a retry
// with the same key and the same items answers the stored batch (replayed), the same key with other items is
// refused with IDEMPOTENCY_KEY_REUSED.
import { sql, type SqlRunner } from "../../db/sql.ts";
import type { CreditAccount, CreditAction, CreditBatch } from "../../generated/postgres/client.ts";
import { keyReused, requestFingerprint } from "../idempotency.ts";
import { newId } from "../ids.ts";
import { type ActionOutcome, loadOutcomes, type WritePreview } from "../outcome.ts";
import { failure, isFailure, type LedgerError, type LedgerFailure } from "../result.ts";
import { findReferences } from "../sql/accounts.ts";
import { insertRows, insertStatement } from "../sql/rows.ts";
import { refusalOf, rollback, runWrite } from "../transaction.ts";
import { type CheckedWriteOptions, checkWriteOptions, type WriteOptions } from "../validation.ts";
import { WriteSession } from "../write-session.ts";
import { type DepositInput, prepareDeposit } from "./deposit.ts";
import {
  type AuthorizeInput,
  type CaptureInput,
  prepareAuthorize,
  prepareCapture,
  prepareRelease,
  type ReleaseInput,
} from "./holds.ts";
import {
  fingerprintOf,
  type LedgerDependencies,
  partnerNotFound,
  type PreparedWrite,
  previewOf,
  storeNotFound,
} from "./money-write.ts";
import { prepareReduce, type ReduceInput } from "./reduce.ts";
import { prepareTransfer, type TransferInput } from "./transfer.ts";

/**
 * The most items one batch may have. It bounds what one transaction locks, writes and holds locks for (a batch
 * of 100 costs about as much as 100 single writes, in one round of locking; see the README's measurements).
 */
export const maxBatchItems = 100;

/** The item's own options: the idempotency key and the dry run are the batch's. */
type ItemOf<Input> = Omit<Input, "idempotencyKey" | "dryRun">;

/** One item of a batch: exactly one operation, named by its key. */
export type BatchItem =
  | { deposit: ItemOf<DepositInput> }
  | { reduce: ItemOf<ReduceInput> }
  | { transfer: ItemOf<TransferInput> }
  | { authorizeHold: ItemOf<AuthorizeInput> }
  | { captureHold: ItemOf<CaptureInput> }
  | { releaseHold: ItemOf<ReleaseInput> };

export type BatchItemKind = "deposit" | "reduce" | "transfer" | "authorizeHold" | "captureHold" | "releaseHold";

export interface BatchInput {
  /** Retrying with the same key and the same items answers the stored batch instead of writing again. */
  idempotencyKey?: string | null;
  items: BatchItem[];
  /** Run the batch to its end and roll it back: the answer says what it would write. */
  dryRun?: boolean;
}

export interface BatchOutcome {
  /** True when this is the stored result of an earlier request with the same idempotency key. */
  replayed: boolean;
  /** The stored batch; null on a dry run. */
  batch: CreditBatch | null;
  /** Each item's outcome, in the items' order (their `settled` are empty: see `settled`). */
  items: ActionOutcome[];
  /** The accounts the batch touched, as it left them; empty on a replay and a dry run. */
  accounts: CreditAccount[];
  /** Expirations and voids the ledger recorded in the same transaction; empty on a replay. */
  settled: CreditAction[];
  /** On a dry run: what each item would write, in order. Nothing was written. */
  preview?: WritePreview[];
}

/** A refused item: its index in `items`, its kind, and the failure (its field relative to the item's input). */
export interface BatchItemError {
  index: number;
  kind: BatchItemKind;
  error: LedgerError;
}

/**
 * A refused batch: `error` is the first reason, `itemErrors` every item's (all the items whose input is
 * invalid, or the one item the ledger refused); empty when the batch as a whole was refused.
 */
export type BatchFailure = LedgerFailure & { itemErrors: BatchItemError[] };

export type BatchResult = ({ ok: true } & BatchOutcome) | BatchFailure;

interface PreparedItem {
  kind: BatchItemKind;
  prepared: PreparedWrite;
  options: CheckedWriteOptions;
  requestHash: string;
}

export async function applyBatch(deps: LedgerDependencies, tenantId: string, input: BatchInput): Promise<BatchResult> {
  const now = deps.clock();
  const items = input.items;
  if (items.length === 0) return batchRefused(failure("BATCH_EMPTY", "items", "A batch needs at least one item."));
  if (items.length > maxBatchItems) {
    return batchRefused(
      failure("BATCH_TOO_LARGE", "items", `A batch may have at most ${maxBatchItems} items; it has ${items.length}.`, {
        max: String(maxBatchItems),
        size: String(items.length),
      }),
    );
  }
  const batchOptions = checkWriteOptions({ idempotencyKey: input.idempotencyKey ?? null }, now);
  if (isFailure(batchOptions)) return batchRefused(batchOptions);
  const idempotencyKey = batchOptions.idempotencyKey;

  const prepared: PreparedItem[] = [];
  const itemErrors: BatchItemError[] = [];
  items.forEach((item, index) => {
    const result = prepareItem(item, now);
    if (isFailure(result)) itemErrors.push({ index, kind: operationOf(item).kind, error: result.error });
    else prepared.push(result);
  });
  const firstError = itemErrors[0];
  if (firstError) return { ok: false, error: firstError.error, itemErrors };

  const requestHash = requestFingerprint("batch", { items: prepared.map((item) => item.requestHash) });
  const result = await runWrite(deps.database, deps.transactions, async (tx) => {
    const batch: CreditBatch = {
      id: newId(),
      tenantId,
      idempotencyKey,
      requestHash,
      itemCount: prepared.length,
      createdAt: now,
    };
    // The key first: a retry finds it taken before it locks or checks anything, and answers from the original.
    // A concurrent request with the same key waits here for the first one's transaction to end.
    const inserted = await tx.query<{ id: string }>(
      sql`${insertStatement("credit_batch", [batch])} ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id`,
    );
    if (inserted.length !== 1) {
      // Every item comes from the one caller, so any item's options name its API key.
      const callerApiKeyId = prepared[0]?.options.initiator.apiKeyId ?? null;
      rollback(await findBatchReplay(tx, tenantId, idempotencyKey, requestHash, callerApiKeyId));
    }

    // Items carry no idempotency key of their own (the batch row holds it), so their actions cannot collide
    // on one: the session may defer their inserts on every attempt (see WriteSession.beginAction).
    const session = new WriteSession(tx, deps.database.engine, tenantId, now, undefined, { deferInserts: true });
    await session.lockAll(
      prepared.flatMap((item) => item.prepared.accountIds),
      prepared.flatMap((item) => item.prepared.holdIds ?? []),
    );
    const knownReferences = new Set<string>();
    const outcomes: ActionOutcome[] = [];
    for (const [index, item] of prepared.entries()) {
      try {
        const problem = await checkItemReferences(tx, tenantId, item.options, knownReferences);
        if (problem) rollback(problem);
        outcomes.push(await item.prepared.body(session, item.options, item.requestHash));
      } catch (error) {
        const refusal = refusalOf(error);
        if (refusal === null) throw error;
        rollback({ ...refusal, itemErrors: [{ index, kind: item.kind, error: refusal.error }] });
      }
    }
    const accounts = await session.finish();
    await insertRows(
      tx,
      "credit_batch_item",
      outcomes.map((outcome, position) => ({ batchId: batch.id, position, actionId: outcome.action.id })),
    );
    const outcome: BatchOutcome = {
      replayed: false,
      batch,
      // Every outcome shares the session's list of settled actions; the batch reports it once.
      items: outcomes.map((itemOutcome) => ({ ...itemOutcome, settled: [] })),
      accounts,
      settled: [...session.settled],
    };
    // Like a single write's dry run: it went as far as the write goes, and rolls back (batch row and key too).
    if (input.dryRun === true) {
      rollback({
        ...outcome,
        batch: null,
        accounts: [],
        preview: outcomes.map((itemOutcome, index) => {
          const preview = previewOf(session, itemOutcome);
          // The expirations settled on the way are shown once, with the first item.
          return index === 0 ? preview : { ...preview, settled: [] };
        }),
      });
    }
    return outcome;
  });
  if (isFailure(result)) return "itemErrors" in result ? (result as BatchFailure) : batchRefused(result);
  return { ok: true, ...result };
}

function batchRefused(refusal: LedgerFailure): BatchFailure {
  return { ...refusal, itemErrors: [] };
}

/** The item's operation: its kind, its input and how it is prepared, read off the one key it has. */
function operationOf(item: BatchItem): {
  kind: BatchItemKind;
  input: WriteOptions;
  prepare: () => PreparedWrite | LedgerFailure;
} {
  if ("deposit" in item) return { kind: "deposit", input: item.deposit, prepare: () => prepareDeposit(item.deposit) };
  if ("reduce" in item) return { kind: "reduce", input: item.reduce, prepare: () => prepareReduce(item.reduce) };
  if ("transfer" in item)
    return { kind: "transfer", input: item.transfer, prepare: () => prepareTransfer(item.transfer) };
  if ("authorizeHold" in item)
    return { kind: "authorizeHold", input: item.authorizeHold, prepare: () => prepareAuthorize(item.authorizeHold) };
  if ("captureHold" in item)
    return { kind: "captureHold", input: item.captureHold, prepare: () => prepareCapture(item.captureHold) };
  return { kind: "releaseHold", input: item.releaseHold, prepare: () => prepareRelease(item.releaseHold) };
}

/** Checks an item's input and options, as its single mutation would, and fingerprints it. */
function prepareItem(item: BatchItem, now: Date): PreparedItem | LedgerFailure {
  const { kind, input, prepare } = operationOf(item);
  const prepared = prepare();
  if (isFailure(prepared)) return prepared;
  // A deposit with a future effective time is scheduled, as it is alone (see deposit.ts). The batch's own
  // options are not the item's to give (the GraphQL items have no such fields).
  const options = checkWriteOptions(
    { ...input, idempotencyKey: null, dryRun: false },
    now,
    prepared.schedulable ?? false,
  );
  if (isFailure(options)) return options;
  return { kind, prepared, options, requestHash: fingerprintOf(prepared.operation, prepared.parameters, options) };
}

/**
 * The item's store and partner must be the tenant's. A single write checks them in its locking statement; a
 * batch locks once for all its items, so it checks each store and partner once, the first time an item names it.
 */
async function checkItemReferences(
  tx: SqlRunner,
  tenantId: string,
  options: CheckedWriteOptions,
  known: Set<string>,
): Promise<LedgerFailure | null> {
  const storeId = options.storeId !== null && !known.has(`store:${options.storeId}`) ? options.storeId : null;
  const partnerId = options.partnerId !== null && !known.has(`partner:${options.partnerId}`) ? options.partnerId : null;
  if (storeId === null && partnerId === null) return null;
  const found = await findReferences(tx, tenantId, { storeId, partnerId });
  if (storeId !== null && !found.storeFound) return storeNotFound(storeId);
  if (partnerId !== null && !found.partnerFound) return partnerNotFound(partnerId);
  if (storeId !== null) known.add(`store:${storeId}`);
  if (partnerId !== null) known.add(`partner:${partnerId}`);
  return null;
}

/**
 * The stored batch with this key: a replay (its actions in order, with their entries and created grants) when
 * the items are the same, else IDEMPOTENCY_KEY_REUSED.
 */
async function findBatchReplay(
  tx: SqlRunner,
  tenantId: string,
  idempotencyKey: string | null,
  requestHash: string,
  callerApiKeyId: string | null,
): Promise<(BatchOutcome & { ok: true }) | BatchFailure> {
  const [batch] = await tx.query<CreditBatch>(
    sql`SELECT * FROM credit_batch WHERE tenant_id = ${tenantId} AND idempotency_key = ${idempotencyKey}`,
  );
  if (!batch) throw new Error("Bug: the batch's idempotency key was taken, but no batch holds it.");
  if (batch.requestHash !== requestHash) {
    // The batch row does not record its caller; its actions do, all with the one API key that sent it.
    const [first] = await tx.query<{ apiKeyId: string | null; initiatorType: string }>(
      sql`SELECT a.api_key_id, a.initiator_type FROM credit_batch_item i JOIN credit_action a ON a.id = i.action_id WHERE i.batch_id = ${batch.id} ORDER BY i.position LIMIT 1`,
    );
    return batchRefused(
      keyReused(
        idempotencyKey ?? "",
        { batchId: batch.id },
        // Only an API_KEY initiator puts the calling key into the fingerprint.
        first?.initiatorType === "API_KEY" ? first.apiKeyId : null,
        callerApiKeyId,
      ),
    );
  }
  const actions = await tx.query<CreditAction>(
    sql`SELECT a.* FROM credit_batch_item i JOIN credit_action a ON a.id = i.action_id WHERE i.batch_id = ${batch.id} ORDER BY i.position`,
  );
  const items = await loadOutcomes(tx, actions);
  return { ok: true, replayed: true, batch, items, accounts: [], settled: [] };
}
