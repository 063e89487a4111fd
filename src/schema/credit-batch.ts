// Atomic batches: the mutation applyCreditBatch applies a list of deposits, reductions, transfers and hold
// authorizations, captures and releases all or nothing, in one transaction (see src/ledger/operations/batch.ts). Each item is a
// @oneOf input naming its operation, with the fields of that operation's own mutation but the idempotency
// key and the dry run, which belong to the batch. A refusal names the item by its index, in `itemErrors` and
// in the path of each user error (["input", "items", "3", "deposit", "amount"]).
import type { CreditAccount, CreditAction, CreditBatch, CreditHold } from "../generated/postgres/client.ts";
import type { BatchItem, BatchItemError, BatchItemKind, BatchOutcome, WriteOptions } from "../ledger/index.ts";
import { maxBatchItems } from "../ledger/index.ts";
import type { WritePreview } from "../ledger/outcome.ts";
import { requireTenant } from "../auth/unauthenticated.ts";
import type { Context } from "../types.ts";
import { builder } from "./builder.ts";
import {
  depositFields,
  expectedField,
  grantOptions,
  reduceFields,
  transferFields,
  WritePreviewRef,
} from "./credit-action.ts";
import { authorizeHoldFields, captureAmountField, holdWriteFields } from "./credit-hold.ts";
import { optionalInputTime, tenantTime } from "./common.ts";
import { invalidId, type UserError, userErrorFrom, UserErrorRef } from "./errors.ts";
import { decodeId } from "./ids.ts";
import { type InputFieldBuilder, payloadFields, writeInputFields, writeOptions } from "./mutation.ts";
import { CreditAccountRef, CreditActionRef } from "./refs.ts";

/** The common write fields of an item: those of its single mutation, but the batch's idempotency key and dry run. */
function itemWriteFields(t: InputFieldBuilder) {
  const { idempotencyKey: _key, dryRun: _dryRun, ...fields } = writeInputFields(t);
  return fields;
}

function itemHoldWriteFields(t: InputFieldBuilder) {
  const { idempotencyKey: _key, dryRun: _dryRun, ...fields } = holdWriteFields(t);
  return fields;
}

const BatchDepositInput = builder.inputType("CreditBatchDepositInput", {
  description: "A deposit in a batch: the fields of `deposit`, but the batch's idempotency key and dry run.",
  fields: (t) => ({
    ...depositFields(t),
    expected: expectedField(
      t,
      "Deposit only if the account is in this state, as the batch's earlier items leave it; else ACCOUNT_CHANGED.",
    ),
    ...itemWriteFields(t),
  }),
});

const BatchReduceInput = builder.inputType("CreditBatchReduceInput", {
  description: "A reduction in a batch: the fields of `reduce`, but the batch's idempotency key and dry run.",
  fields: (t) => ({
    ...reduceFields(t),
    expected: expectedField(
      t,
      "Take only if the account is in this state, as the batch's earlier items leave it; else ACCOUNT_CHANGED.",
    ),
    ...itemWriteFields(t),
  }),
});

const BatchTransferInput = builder.inputType("CreditBatchTransferInput", {
  description: "A transfer in a batch: the fields of `transfer`, but the batch's idempotency key and dry run.",
  fields: (t) => ({
    ...transferFields(t),
    expectedSource: expectedField(
      t,
      "Move only if the source account is in this state, as the batch's earlier items leave it; else ACCOUNT_CHANGED.",
    ),
    expectedTarget: expectedField(
      t,
      "Move only if the target account is in this state, as the batch's earlier items leave it; else ACCOUNT_CHANGED.",
    ),
    ...itemWriteFields(t),
  }),
});

const BatchAuthorizeHoldInput = builder.inputType("CreditBatchAuthorizeHoldInput", {
  description:
    "A hold to place in a batch: the fields of `authorizeHold`, but the batch's idempotency key and dry run.",
  fields: (t) => ({
    ...authorizeHoldFields(t),
    expected: expectedField(
      t,
      "Place the hold only if the account is in this state, as the batch's earlier items leave it; else ACCOUNT_CHANGED.",
    ),
    ...itemHoldWriteFields(t),
  }),
});

const BatchCaptureHoldInput = builder.inputType("CreditBatchCaptureHoldInput", {
  description:
    "A hold to capture in a batch: the fields of `captureHold`, but the batch's idempotency key and dry run.",
  fields: (t) => ({
    holdId: t.id({ required: true, description: "Global ID of the hold (placed before the batch)." }),
    amount: captureAmountField(t),
    expected: expectedField(
      t,
      "Capture only if the hold's account is in this state, as the batch's earlier items leave it; else ACCOUNT_CHANGED.",
    ),
    ...itemHoldWriteFields(t),
  }),
});

const BatchReleaseHoldInput = builder.inputType("CreditBatchReleaseHoldInput", {
  description:
    "A hold to release in a batch: the fields of `releaseHold`, but the batch's idempotency key and dry run.",
  fields: (t) => ({
    holdId: t.id({ required: true, description: "Global ID of the hold (placed before the batch)." }),
    ...itemHoldWriteFields(t),
  }),
});

const BatchItemInput = builder.inputType("CreditBatchItemInput", {
  description: "One item of a batch: exactly one of its fields, the operation to apply.",
  isOneOf: true,
  fields: (t) => ({
    deposit: t.field({ type: BatchDepositInput, required: false, description: "Add credits, as `deposit` does." }),
    reduce: t.field({ type: BatchReduceInput, required: false, description: "Take credits, as `reduce` does." }),
    transfer: t.field({ type: BatchTransferInput, required: false, description: "Move credits, as `transfer` does." }),
    authorizeHold: t.field({
      type: BatchAuthorizeHoldInput,
      required: false,
      description: "Reserve credits, as `authorizeHold` does.",
    }),
    captureHold: t.field({
      type: BatchCaptureHoldInput,
      required: false,
      description: "Take a pending hold, as `captureHold` does.",
    }),
    releaseHold: t.field({
      type: BatchReleaseHoldInput,
      required: false,
      description: "Give a pending hold back, as `releaseHold` does.",
    }),
  }),
});

const ApplyCreditBatchInput = builder.inputType("ApplyCreditBatchInput", {
  description: "A list of ledger operations to apply all or nothing, in order, in one transaction.",
  fields: (t) => ({
    items: t.field({
      type: [BatchItemInput],
      required: true,
      description: `The operations, applied in this order; each sees the balances the items before it left. 1 to ${maxBatchItems} items (else BATCH_EMPTY or BATCH_TOO_LARGE).`,
    }),
    idempotencyKey: t.string({
      required: false,
      description:
        "Retrying with the same key and the same items returns the stored batch (replayed: true) instead of writing again; the same key with other items is refused with IDEMPOTENCY_KEY_REUSED. 1 to 255 visible ASCII characters. A batch's key is the batch's own: it does not collide with the keys of single writes.",
    }),
    dryRun: t.boolean({
      required: false,
      description:
        "True: answer what the batch would do (the payload's `preview`, or the userErrors it would meet) without writing anything; the idempotency key stays unused. Default false.",
    }),
  }),
});

/** A stored batch and its actions in order. */
interface BatchParent {
  batch: CreditBatch;
  actions: CreditAction[];
}

const CreditBatchRef = builder.objectRef<BatchParent>("CreditBatch").implement({
  description: "Actions applied all or nothing in one transaction by applyCreditBatch: all of them were written.",
  fields: (t) => ({
    actions: t.field({
      type: [CreditActionRef],
      description: "The batch's actions, one per item, in the items' order (a placed hold's action names its hold).",
      resolve: (parent) => parent.actions,
    }),
    idempotencyKey: t.string({
      nullable: true,
      description: "The key the batch was applied with; null when none was given.",
      resolve: (parent) => parent.batch.idempotencyKey,
    }),
    createdAt: t.field({
      type: "DateTime",
      description: "When the batch was written, in the tenant's time zone.",
      resolve: (parent, _args, context) => tenantTime(parent.batch.createdAt, context),
    }),
  }),
});

/** A refused item of a batch. */
interface ItemErrorParent {
  index: number;
  userError: UserError;
}

const BatchItemErrorRef = builder.objectRef<ItemErrorParent>("CreditBatchItemError").implement({
  description: "Why one item of a batch was refused; nothing of the batch was written.",
  fields: (t) => ({
    index: t.int({ description: "The item's position in `items`, from 0.", resolve: (error) => error.index }),
    userError: t.field({
      type: UserErrorRef,
      description: "The refusal, with the path to the item's field at fault.",
      resolve: (error) => error.userError,
    }),
  }),
});

/** What applyCreditBatch answers; a refused batch has only userErrors and itemErrors. */
interface BatchPayload {
  batch?: BatchParent | null;
  accounts?: CreditAccount[];
  replayed?: boolean;
  preview?: WritePreview[] | null;
  itemErrors: ItemErrorParent[];
  userErrors: UserError[];
}

const BatchPayloadRef = builder.objectRef<BatchPayload>("ApplyCreditBatchPayload").implement({
  description: "Result of applyCreditBatch.",
  fields: (t) => ({
    batch: t.field({
      type: CreditBatchRef,
      nullable: true,
      description:
        "The batch written (or replayed) with its actions; null when userErrors is not empty, and on a dry run (see `preview`).",
      resolve: (p) => p.batch ?? null,
    }),
    accounts: t.field({
      type: [CreditAccountRef],
      description:
        "The accounts the batch touched, as the batch left them. On a replay (`replayed: true`), every figure of each account (`balance`, `held`, `scheduled`, `available`, `sequence`) is as it is now, all of one moment, so that it can be sent back as `expected`; the balance and sequence right after each of the batch's actions are in that action's entries (`batch.actions { entries { balanceAfter sequence } }`), which a replay returns unchanged.",
      resolve: (p) => p.accounts ?? [],
    }),
    replayed: t.boolean({
      description:
        "True when this is the stored result of an earlier batch with the same idempotency key; nothing was written again.",
      resolve: (p) => p.replayed ?? false,
    }),
    preview: t.field({
      type: [WritePreviewRef],
      nullable: true,
      description:
        "On a dry run (`dryRun: true`) that would write: what each item would record, in the items' order (expirations settled on the way are shown with the first); nothing was written. Null otherwise.",
      resolve: (p) => p.preview ?? null,
    }),
    itemErrors: t.field({
      type: [BatchItemErrorRef],
      description:
        "The refused items with their index: every item with an invalid global ID; else every item whose input is otherwise invalid; else the first item the ledger refused (later items were not tried). Empty when the batch was written or refused as a whole (see userErrors).",
      resolve: (p) => p.itemErrors ?? [],
    }),
    ...payloadFields(
      t,
      'Why nothing was written: the batch\'s own refusals (field path ["input", ...]) and each refused item\'s, whose path names the item, e.g. ["input", "items", "3", "deposit", "amount"].',
    ),
  }),
});

type BatchItemInputValue = typeof BatchItemInput.$inferInput;
type Kind = BatchItemKind;

/** Prefixes a user error's path, ["input", ...], with the item's: ["input", "items", index, kind, ...]. */
function atItem(error: UserError, index: number, kind: Kind): UserError {
  const rest = error.field === null ? [] : error.field.slice(1);
  return { ...error, field: ["input", "items", String(index), kind, ...rest] };
}

/** Decodes one item's IDs and options for the ledger; a bad ID is an INVALID_ID user error on the item. */
function decodeItem(item: BatchItemInputValue, context: Context): BatchItem | UserError {
  const decode = (field: string, value: string | number, type: "CreditAccount" | "CreditHold"): string | UserError =>
    decodeId(String(value), type) ?? invalidId(field, type, String(value), context);
  const options = (input: Parameters<typeof writeOptions>[0]): WriteOptions | UserError => {
    const decoded = writeOptions(input, context);
    return "userErrors" in decoded ? (decoded.userErrors[0] as UserError) : decoded;
  };
  if (item.deposit) {
    const input = item.deposit;
    const accountId = decode("accountId", input.accountId, "CreditAccount");
    if (typeof accountId !== "string") return accountId;
    const common = options(input);
    if ("code" in common) return common;
    return {
      deposit: {
        ...common,
        accountId,
        amount: input.amount,
        expected: input.expected,
        grant: grantOptions(input.grant, context),
      },
    };
  }
  if (item.reduce) {
    const input = item.reduce;
    const accountId = decode("accountId", input.accountId, "CreditAccount");
    if (typeof accountId !== "string") return accountId;
    const common = options(input);
    if ("code" in common) return common;
    return { reduce: { ...common, accountId, amount: input.amount, expected: input.expected } };
  }
  if (item.transfer) {
    const input = item.transfer;
    const sourceAccountId = decode("sourceAccountId", input.sourceAccountId, "CreditAccount");
    if (typeof sourceAccountId !== "string") return sourceAccountId;
    const targetAccountId = decode("targetAccountId", input.targetAccountId, "CreditAccount");
    if (typeof targetAccountId !== "string") return targetAccountId;
    const common = options(input);
    if ("code" in common) return common;
    return {
      transfer: {
        ...common,
        sourceAccountId,
        targetAccountId,
        amount: input.amount,
        expectedSource: input.expectedSource,
        expectedTarget: input.expectedTarget,
      },
    };
  }
  if (item.captureHold) {
    const input = item.captureHold;
    const holdId = decode("holdId", input.holdId, "CreditHold");
    if (typeof holdId !== "string") return holdId;
    const common = options(input);
    if ("code" in common) return common;
    return { captureHold: { ...common, holdId, amount: input.amount ?? null, expected: input.expected } };
  }
  if (item.releaseHold) {
    const input = item.releaseHold;
    const holdId = decode("holdId", input.holdId, "CreditHold");
    if (typeof holdId !== "string") return holdId;
    const common = options(input);
    if ("code" in common) return common;
    return { releaseHold: { ...common, holdId } };
  }
  const input = item.authorizeHold;
  // @oneOf: GraphQL validation has refused an item with none (or more than one) of its fields.
  if (!input) throw new Error("Bug: a batch item without an operation passed @oneOf validation.");
  const accountId = decode("accountId", input.accountId, "CreditAccount");
  if (typeof accountId !== "string") return accountId;
  const common = options(input);
  if ("code" in common) return common;
  return {
    authorizeHold: {
      ...common,
      accountId,
      amount: input.amount,
      expiresAt: optionalInputTime(input.expiresAt, context) ?? null,
      expected: input.expected,
    },
  };
}

function kindOf(item: BatchItemInputValue): Kind {
  if (item.deposit) return "deposit";
  if (item.reduce) return "reduce";
  if (item.transfer) return "transfer";
  if (item.captureHold) return "captureHold";
  if (item.releaseHold) return "releaseHold";
  return "authorizeHold";
}

/** The payload of a written (or replayed) batch; a replay's accounts are as they are now (see `accounts`). */
async function batchFields(outcome: BatchOutcome, context: Context) {
  if (outcome.preview) {
    return { batch: null, accounts: [], replayed: false, preview: outcome.preview, itemErrors: [] };
  }
  const batch = outcome.batch;
  if (!batch) throw new Error("Bug: a batch written without its row.");
  let accounts = outcome.accounts;
  if (outcome.replayed) {
    // As a single replay answers: each account whole as it is now, never today's figures beside the batch's
    // (the figures right after each action are its entries').
    // A hold's actions name no account: the hold does.
    const holdIds = outcome.items.flatMap((item) => (item.action.holdId === null ? [] : [item.action.holdId]));
    const holds = (await context.loaders.hold.loadMany(holdIds)).filter(
      (hold): hold is CreditHold => hold !== null && !(hold instanceof Error),
    );
    const ids = [
      ...new Set([
        ...outcome.items.flatMap((item) => accountIdsOf(item.action)),
        ...holds.map((hold) => hold.accountId),
      ]),
    ];
    accounts = (await context.loaders.account.loadMany(ids)).filter(
      (account): account is CreditAccount => account !== null && !(account instanceof Error),
    );
  }
  return {
    batch: { batch, actions: outcome.items.map((item) => item.action) },
    accounts,
    replayed: outcome.replayed,
    preview: null,
    itemErrors: [],
  };
}

/** The accounts an action names. */
function accountIdsOf(action: CreditAction): string[] {
  return [action.sourceAccountId, action.targetAccountId].filter((id): id is string => id !== null);
}

builder.mutationFields((t) => ({
  applyCreditBatch: t.field({
    type: BatchPayloadRef,
    description: `Applies deposits, reductions, transfers and hold authorizations, captures and releases all or nothing, in order, in one transaction (at most ${maxBatchItems} items). On any refusal nothing is written and the payload names the refused items by index. Costs as much query cost as one mutation per item.`,
    args: {
      input: t.arg({ type: ApplyCreditBatchInput, required: true, description: "The items and the batch's options." }),
    },
    resolve: async (_root, { input }, context): Promise<BatchPayload> => {
      const tenantId = requireTenant(context).id;
      const items: BatchItem[] = [];
      const itemErrors: ItemErrorParent[] = [];
      input.items.forEach((item, index) => {
        const decoded = decodeItem(item, context);
        if ("code" in decoded) itemErrors.push({ index, userError: atItem(decoded, index, kindOf(item)) });
        else items.push(decoded);
      });
      if (itemErrors.length > 0) {
        return { userErrors: itemErrors.map((error) => error.userError), itemErrors };
      }
      const result = await context.ledger.applyBatch(tenantId, {
        idempotencyKey: input.idempotencyKey ?? null,
        items,
        dryRun: input.dryRun === true,
      });
      if (!result.ok) {
        const refusedItems = result.itemErrors.map((error) => itemErrorOf(error, context));
        const userErrors =
          refusedItems.length > 0
            ? refusedItems.map((error) => error.userError)
            : [userErrorFrom(result.error, context)];
        return { userErrors, itemErrors: refusedItems };
      }
      return { ...(await batchFields(result, context)), userErrors: [] };
    },
  }),
}));

function itemErrorOf(error: BatchItemError, context: Context): ItemErrorParent {
  return { index: error.index, userError: atItem(userErrorFrom(error.error, context), error.index, error.kind) };
}
