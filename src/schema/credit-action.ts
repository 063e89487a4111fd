// Credit actions: the immutable ledger records, with everything the four source APIs show on an entry
// (type and its localized name, amount, times, store, partner, note, both accounts with their balances before
// and after, initiator, external reference, grants), and the mutations that move credits: deposit, reduce,
// transfer, createCreditGrant, voidCreditGrant, changeCreditGrantExpiry and reverseCreditAction, with their
// conditions (expected account states) and dry runs.
import { defined } from "../assert.ts";
import type { CreditAccount, CreditAction } from "../generated/postgres/client.ts";
import type { ActionOutcome } from "../ledger/index.ts";
import type { PreviewAction, WritePreview } from "../ledger/outcome.ts";
import type { RecordedAllocation } from "../ledger/write-session.ts";
import type { Context } from "../types.ts";
import { builder } from "./builder.ts";
import {
  ActionTypeEnum,
  DirectionEnum,
  GrantCategoryEnum,
  InitiatorTypeEnum,
  localizedTypeName,
  nullableTenantTime,
  optionalInputTime,
  tenantTime,
} from "./common.ts";
import { type InputFieldBuilder, type Payload, payloadFields, runMutation, writeInputFields } from "./mutation.ts";
import {
  CreditAccountRef,
  CreditActionRef,
  CreditEntryRef,
  CreditGrantRef,
  PartnerRef,
  StoreRef,
  throwLoadErrors,
} from "./refs.ts";

builder.objectType(CreditEntryRef, {
  description: "An action's effect on one account: a transfer has two, every other action one.",
  fields: (t) => ({
    account: t.field({
      type: CreditAccountRef,
      description: "The account.",
      resolve: async (entry, _args, context) =>
        defined(await context.loaders.account.load(entry.accountId), "the account of an entry"),
    }),
    direction: t.field({
      type: DirectionEnum,
      description: "Whether credits were added to or taken from the account.",
      resolve: (entry) => entry.direction,
    }),
    amount: t.field({
      type: "Amount",
      description: "Credits moved on this account, in minor units (always positive).",
      resolve: (entry) => entry.amount,
    }),
    balanceBefore: t.field({
      type: "Amount",
      description: "The account's balance just before the action.",
      resolve: (entry) => entry.balanceBefore,
    }),
    balanceAfter: t.field({
      type: "Amount",
      description: "The account's balance just after the action.",
      resolve: (entry) => entry.balanceAfter,
    }),
    sequence: t.int({
      description: "Position of the entry in the account's ledger: 1, 2, 3... without gaps.",
      resolve: (entry) => entry.sequence,
    }),
  }),
});

const InitiatorRef = builder
  .objectRef<{ type: CreditAction["initiatorType"]; id: string | null }>("Initiator")
  .implement({
    description: "Who caused an action (Thought Industries' initiator and initiatorType).",
    fields: (t) => ({
      type: t.field({
        type: InitiatorTypeEnum,
        description: "What kind of party it was.",
        resolve: (initiator) => initiator.type,
      }),
      id: t.string({
        nullable: true,
        description: "The user's id, or the API key's id; null for the system.",
        resolve: (initiator) => initiator.id,
      }),
    }),
  });

const AllocationRef = builder
  .objectRef<{ grantId: string; direction: "CREDIT" | "DEBIT"; amount: bigint }>("CreditAllocation")
  .implement({
    description: "How much of one grant an action filled or spent.",
    fields: (t) => ({
      grant: t.field({
        type: CreditGrantRef,
        description: "The grant.",
        resolve: async (a, _x, context) =>
          defined(await context.loaders.grant.load(a.grantId), "the grant of an allocation"),
      }),
      direction: t.field({
        type: DirectionEnum,
        description: "CREDIT when the action filled the grant, DEBIT when it spent from it.",
        resolve: (a) => a.direction,
      }),
      amount: t.field({ type: "Amount", description: "Credits, in minor units.", resolve: (a) => a.amount }),
    }),
  });

async function entryOf(action: CreditAction, direction: "CREDIT" | "DEBIT", context: Context) {
  const entries = await context.loaders.entriesOfAction.load(action.id);
  return entries.find((entry) => entry.direction === direction) ?? null;
}

builder.node(CreditActionRef, {
  description: "One immutable record of the ledger: a deposit, reduction, transfer, expiration, void or reversal.",
  id: { resolve: (action) => action.id },
  loadMany: (ids, context) => context.loaders.action.loadMany(ids).then(throwLoadErrors),
  fields: (t) => ({
    type: t.field({ type: ActionTypeEnum, description: "What kind of operation it records.", resolve: (a) => a.type }),
    typeName: t.string({
      description: "The type's name in the language negotiated from Accept-Language (e.g. Deposit, Vklad).",
      resolve: (a, _args, context) => localizedTypeName(a.type, context),
    }),
    amount: t.field({
      type: "Amount",
      description: "Credits moved, in minor units of `currency` (always positive).",
      resolve: (a) => a.amount,
    }),
    currency: t.string({ description: "ISO 4217 code or credit unit of the amount.", resolve: (a) => a.currency }),
    sourceAccount: t.field({
      type: CreditAccountRef,
      nullable: true,
      description: "The account credits were taken from; null for a deposit.",
      resolve: (a, _args, context) => (a.sourceAccountId ? context.loaders.account.load(a.sourceAccountId) : null),
    }),
    targetAccount: t.field({
      type: CreditAccountRef,
      nullable: true,
      description: "The account credits were added to; null for a reduction, expiration or void.",
      resolve: (a, _args, context) => (a.targetAccountId ? context.loaders.account.load(a.targetAccountId) : null),
    }),
    sourceBalanceBefore: t.field({
      type: "Amount",
      nullable: true,
      description: "The source account's balance just before the action (Thought Industries' sourceBalanceIn).",
      resolve: async (a, _args, context) => (await entryOf(a, "DEBIT", context))?.balanceBefore ?? null,
    }),
    sourceBalanceAfter: t.field({
      type: "Amount",
      nullable: true,
      description: "The source account's balance just after the action (sourceBalanceOut).",
      resolve: async (a, _args, context) => (await entryOf(a, "DEBIT", context))?.balanceAfter ?? null,
    }),
    targetBalanceBefore: t.field({
      type: "Amount",
      nullable: true,
      description: "The target account's balance just before the action (targetBalanceIn).",
      resolve: async (a, _args, context) => (await entryOf(a, "CREDIT", context))?.balanceBefore ?? null,
    }),
    targetBalanceAfter: t.field({
      type: "Amount",
      nullable: true,
      description: "The target account's balance just after the action (targetBalanceOut).",
      resolve: async (a, _args, context) => (await entryOf(a, "CREDIT", context))?.balanceAfter ?? null,
    }),
    entries: t.field({
      type: [CreditEntryRef],
      description: "The action's effect on each account it touched, source first.",
      resolve: async (a, _args, context) =>
        [...(await context.loaders.entriesOfAction.load(a.id))].sort((x, y) =>
          x.direction === y.direction ? 0 : x.direction === "DEBIT" ? -1 : 1,
        ),
    }),
    allocations: t.field({
      type: [AllocationRef],
      description: "The grants the action filled or spent, and how much of each (Stripe's credit_grant).",
      resolve: (a, _args, context) => context.loaders.allocationsOfAction.load(a.id),
    }),
    grant: t.field({
      type: CreditGrantRef,
      nullable: true,
      description: "For an expiration or void: the grant concerned. For a deposit: the grant it created.",
      resolve: async (a, _args, context) => {
        if (a.grantId) return context.loaders.grant.load(a.grantId);
        if (a.type !== "DEPOSIT") return null;
        const allocations = await context.loaders.allocationsOfAction.load(a.id);
        const created = allocations.find((allocation) => allocation.direction === "CREDIT");
        return created ? context.loaders.grant.load(created.grantId) : null;
      },
    }),
    store: t.field({
      type: StoreRef,
      nullable: true,
      description: "The store where it happened.",
      resolve: (a, _x, c) => (a.storeId ? c.loaders.store.load(a.storeId) : null),
    }),
    partner: t.field({
      type: PartnerRef,
      nullable: true,
      description: "The partner through whom it happened.",
      resolve: (a, _x, c) => (a.partnerId ? c.loaders.partner.load(a.partnerId) : null),
    }),
    initiator: t.field({
      type: InitiatorRef,
      description: "Who caused the action.",
      resolve: (a) => ({ type: a.initiatorType, id: a.initiatorId }),
    }),
    note: t.string({ nullable: true, description: "Free text about the action.", resolve: (a) => a.note }),
    externalReference: t.string({
      nullable: true,
      description: "What the action paid for or came from, e.g. an invoice and line item (Stripe's credits_applied).",
      resolve: (a) => a.externalReference,
    }),
    idempotencyKey: t.string({
      nullable: true,
      description: "The idempotency key the action was written with.",
      resolve: (a) => a.idempotencyKey,
    }),
    reverses: t.field({
      type: CreditActionRef,
      nullable: true,
      description: "For a reversal: the action it undoes.",
      resolve: (a, _x, c) => (a.reversesActionId ? c.loaders.action.load(a.reversesActionId) : null),
    }),
    reversedBy: t.field({
      type: CreditActionRef,
      nullable: true,
      description: "The reversal that undid this action, if any.",
      resolve: (a, _x, c) => c.loaders.reversalOf.load(a.id),
    }),
    previousExpiresAt: t.field({
      type: "DateTime",
      nullable: true,
      description:
        "For an EXPIRATION_CHANGE: the grant's expiry before the change (null: it never expired). Null for other actions.",
      resolve: (a, _x, c) => nullableTenantTime(a.previousExpiresAt ?? null, c),
    }),
    newExpiresAt: t.field({
      type: "DateTime",
      nullable: true,
      description:
        "For an EXPIRATION_CHANGE: the grant's expiry after the change (null: never). A requested time already passed becomes the time of the change, and the grant expires at once. Null for other actions.",
      resolve: (a, _x, c) => nullableTenantTime(a.newExpiresAt ?? null, c),
    }),
    effectiveAt: t.field({
      type: "DateTime",
      description: "When the action takes effect (may precede createdAt when backdated).",
      resolve: (a, _x, c) => tenantTime(a.effectiveAt, c),
    }),
    createdAt: t.field({
      type: "DateTime",
      description: "When the action was recorded.",
      resolve: (a, _x, c) => tenantTime(a.createdAt, c),
    }),
    updatedAt: t.field({
      type: "DateTime",
      description: "When the record last changed (only a reversal changes it).",
      resolve: (a, _x, c) => tenantTime(a.updatedAt, c),
    }),
  }),
});

// ----- Mutations -------------------------------------------------------------------------------------
// Each money mutation is its input, one ledger call and the action payload; the plumbing (tenant, IDs, write
// options, user errors) is runMutation's, in mutation.ts.

const AccountExpectationInput = builder.inputType("AccountExpectationInput", {
  description:
    "The state a write expects an account to be in, as the caller last read it (optimistic concurrency). When the account has moved since, the write is refused with ACCOUNT_CHANGED and nothing is written. Any part may be omitted, not all of them; a state no account can ever be in (a negative `held`) is refused with INVALID_EXPECTED.",
  fields: (t) => ({
    balance: t.field({
      type: "Amount",
      required: false,
      description: "The account's `balance` as last read, in minor units (negative when the account is overdrawn).",
    }),
    sequence: t.int({
      required: false,
      description:
        "The account's `sequence` as last read: how many entries it has (0 for none). It changes with every entry, even one that leaves the balance as it was, so it is the exact condition.",
    }),
    held: t.field({
      type: "Amount",
      required: false,
      description:
        "The account's `held` as last read, in minor units, never negative: holds change neither balance nor sequence, so send it to be refused also when a hold was placed, captured or released since.",
    }),
  }),
});

export const expectedField = (t: InputFieldBuilder, description: string) =>
  t.field({ type: AccountExpectationInput, required: false, description });

export const GrantOptionsInput = builder.inputType("GrantOptionsInput", {
  description: "The grant a deposit creates.",
  fields: (t) => ({
    name: t.string({ required: false, description: "A label for the grant (e.g. the campaign)." }),
    category: t.field({
      type: GrantCategoryEnum,
      required: false,
      description: "Paid (default) or promotional credits.",
    }),
    priority: t.int({ required: false, description: "0 to 100, lower is spent first; default 50." }),
    expiresAt: t.field({
      type: "DateTime",
      required: false,
      description: "When unspent credits expire; default never.",
    }),
  }),
});

// The fields of each money-moving operation but its condition and the common write options: shared by the
// operation's own input and by its batch item (credit-batch.ts), whose condition reads differently and which
// has no idempotency key or dry run of its own.

export const depositFields = (t: InputFieldBuilder) => ({
  accountId: t.id({ required: true, description: "Global ID of the account." }),
  amount: t.field({
    type: "Amount",
    required: true,
    description: "Credits to add, in minor units (greater than zero).",
  }),
  grant: t.field({
    type: GrantOptionsInput,
    required: false,
    description: "Category, priority, expiry and name of the grant the deposit creates.",
  }),
});

export const reduceFields = (t: InputFieldBuilder) => ({
  accountId: t.id({ required: true, description: "Global ID of the account." }),
  amount: t.field({
    type: "Amount",
    required: true,
    description: "Credits to take, in minor units (greater than zero).",
  }),
});

export const transferFields = (t: InputFieldBuilder) => ({
  sourceAccountId: t.id({ required: true, description: "Global ID of the account to take credits from." }),
  targetAccountId: t.id({ required: true, description: "Global ID of the account to add them to." }),
  amount: t.field({
    type: "Amount",
    required: true,
    description: "Credits to move, in minor units (greater than zero).",
  }),
});

// deposit and createCreditGrant do the same, but each takes an input named after it, so that either can
// gain a field without the other.
const depositInput = (name: string, description: string) =>
  builder.inputType(name, {
    description,
    fields: (t) => ({
      ...depositFields(t),
      expected: expectedField(t, "Deposit only if the account is still in this state; else ACCOUNT_CHANGED."),
      ...writeInputFields(t),
    }),
  });
const DepositInput = depositInput("DepositInput", "Credits to add to an account.");
const CreateCreditGrantInput = depositInput(
  "CreateCreditGrantInput",
  "A grant of credits to create in an account (the same as a deposit).",
);

const ReduceInput = builder.inputType("ReduceInput", {
  description: "Credits to take from an account.",
  fields: (t) => ({
    ...reduceFields(t),
    expected: expectedField(t, "Take only if the account is still in this state; else ACCOUNT_CHANGED."),
    ...writeInputFields(t),
  }),
});

const TransferInput = builder.inputType("TransferInput", {
  description: "Credits to move between two accounts of the same currency.",
  fields: (t) => ({
    ...transferFields(t),
    expectedSource: expectedField(t, "Move only if the source account is still in this state; else ACCOUNT_CHANGED."),
    expectedTarget: expectedField(t, "Move only if the target account is still in this state; else ACCOUNT_CHANGED."),
    ...writeInputFields(t),
  }),
});

const VoidGrantInput = builder.inputType("VoidCreditGrantInput", {
  description: "The grant to end early.",
  fields: (t) => ({
    grantId: t.id({ required: true, description: "Global ID of the grant." }),
    expected: expectedField(
      t,
      "Void only if the account holding the grant is still in this state; else ACCOUNT_CHANGED.",
    ),
    ...writeInputFields(t),
  }),
});

const ChangeExpiryInput = builder.inputType("ChangeCreditGrantExpiryInput", {
  description: "The grant whose expiry to change, and its new expiry.",
  fields: (t) => ({
    grantId: t.id({ required: true, description: "Global ID of the grant (it must still hold credits)." }),
    expiresAt: t.field({
      type: "DateTime",
      required: false,
      description:
        "The new expiry, later or earlier than the current one; null or omitted for never. A time already passed expires the grant at once.",
    }),
    expected: expectedField(
      t,
      "Change only if the account holding the grant is still in this state; else ACCOUNT_CHANGED.",
    ),
    ...writeInputFields(t),
  }),
});

const ReverseInput = builder.inputType("ReverseCreditActionInput", {
  description: "The action to undo.",
  fields: (t) => ({
    actionId: t.id({ required: true, description: "Global ID of the deposit, reduction or transfer to reverse." }),
    expectedSource: expectedField(
      t,
      "Reverse only if the account credits are taken back from (the original's target) is still in this state; else ACCOUNT_CHANGED. ACCOUNT_NOT_FOUND for a reversed reduction, which has no such account.",
    ),
    expectedTarget: expectedField(
      t,
      "Reverse only if the account credits go back to (the original's source) is still in this state; else ACCOUNT_CHANGED. ACCOUNT_NOT_FOUND for a reversed deposit, which has no such account.",
    ),
    ...writeInputFields(t),
  }),
});

/**
 * What a money mutation answers: the action, the accounts it touched, whether it was a replay; on a dry run
 * that would write, the preview instead of the action.
 */
export type ActionPayload = Payload<{
  action: CreditAction | null;
  accounts: CreditAccount[];
  replayed: boolean;
  preview: WritePreview | null;
}>;

const AllocationPreviewRef = builder.objectRef<RecordedAllocation>("CreditAllocationPreview").implement({
  description: "How much of one grant a dry-run write would fill or spend.",
  fields: (t) => ({
    grant: t.field({
      type: CreditGrantRef,
      description:
        "The grant as it is before the write (its remainingAmount not yet changed), or, when `createsGrant`, as the write would create it: its id then refers to nothing, since nothing was written.",
      resolve: (a) => a.grant,
    }),
    createsGrant: t.boolean({
      description:
        "True when the write would create this grant (a deposit's grant, a transfer's grants in the target).",
      resolve: (a) => a.createsGrant,
    }),
    direction: t.field({
      type: DirectionEnum,
      description: "CREDIT when the write would fill the grant, DEBIT when it would spend from it.",
      resolve: (a) => a.direction,
    }),
    amount: t.field({ type: "Amount", description: "Credits, in minor units.", resolve: (a) => a.amount }),
  }),
});

const ActionPreviewRef = builder.objectRef<PreviewAction>("CreditActionPreview").implement({
  description:
    "An action a dry-run write would record, with its entries and grants. Nothing of it is stored: it has no id.",
  fields: (t) => ({
    type: t.field({
      type: ActionTypeEnum,
      description: "What kind of operation it would record.",
      resolve: (p) => p.action.type,
    }),
    typeName: t.string({
      description: "The type's name in the language negotiated from Accept-Language.",
      resolve: (p, _args, context) => localizedTypeName(p.action.type, context),
    }),
    amount: t.field({
      type: "Amount",
      description: "Credits it would move, in minor units.",
      resolve: (p) => p.action.amount,
    }),
    currency: t.string({
      description: "ISO 4217 code or credit unit of the amount.",
      resolve: (p) => p.action.currency,
    }),
    effectiveAt: t.field({
      type: "DateTime",
      description: "When it would take effect.",
      resolve: (p, _x, c) => tenantTime(p.action.effectiveAt, c),
    }),
    sourceAccount: t.field({
      type: CreditAccountRef,
      nullable: true,
      description: "The account credits would be taken from.",
      resolve: (p, _x, c) => (p.action.sourceAccountId ? c.loaders.account.load(p.action.sourceAccountId) : null),
    }),
    targetAccount: t.field({
      type: CreditAccountRef,
      nullable: true,
      description: "The account credits would be added to.",
      resolve: (p, _x, c) => (p.action.targetAccountId ? c.loaders.account.load(p.action.targetAccountId) : null),
    }),
    entries: t.field({
      type: [CreditEntryRef],
      description:
        "Its effect on each account, source first: the balance before and after and the sequence number the entry would get.",
      resolve: (p) =>
        [...p.entries].sort((x, y) => (x.direction === y.direction ? 0 : x.direction === "DEBIT" ? -1 : 1)),
    }),
    allocations: t.field({
      type: [AllocationPreviewRef],
      description:
        "The grants it would spend, in the order it would spend them, then the grants it would fill, with the amount of each.",
      resolve: (p) => p.allocations,
    }),
  }),
});

export const WritePreviewRef = builder.objectRef<WritePreview>("WritePreview").implement({
  description: "What a dry-run write would do. Nothing was written.",
  fields: (t) => ({
    action: t.field({
      type: ActionPreviewRef,
      description: "The action the write would record.",
      resolve: (p) => p.action,
    }),
    settled: t.field({
      type: [ActionPreviewRef],
      description:
        "Expirations and voids the ledger would record before it, for grants of its accounts that have lapsed (reads record them too).",
      resolve: (p) => p.settled,
    }),
  }),
});

/** A payload type for a mutation that writes one credit action (its name is the mutation's, plus Payload). */
export function actionPayload(name: string, mutation: string) {
  return builder.objectRef<ActionPayload>(name).implement({
    description: `Result of ${mutation}.`,
    fields: (t) => ({
      action: t.field({
        type: CreditActionRef,
        nullable: true,
        description:
          "The action written (or replayed); null when userErrors is not empty, and on a dry run that would write (see `preview`).",
        resolve: (p) => p.action ?? null,
      }),
      preview: t.field({
        type: WritePreviewRef,
        nullable: true,
        description:
          "On a dry run (`dryRun: true`) that would write: the action with its entries (balances before and after) and the grants it would spend, in order; nothing was written. Null otherwise: a dry run that would be refused has userErrors; one that would replay an earlier request with the same idempotency key has `replayed` and `action`.",
        resolve: (p) => p.preview ?? null,
      }),
      accounts: t.field({
        type: [CreditAccountRef],
        description:
          "The accounts the action touched, as the write left them. On a replay (`replayed: true`), every figure of " +
          "each account (`balance`, `held`, `scheduled`, `available`, `sequence`) is as it is now, all of one " +
          "moment, so that it can be sent back as `expected`; the balance and sequence right after the original " +
          "action are its entries' (`action.entries { balanceAfter sequence }`), which a replay returns unchanged.",
        resolve: (p) => p.accounts ?? [],
      }),
      replayed: t.boolean({
        description:
          "True when this is the stored result of an earlier request with the same idempotency key; nothing was written again.",
        resolve: (p) => p.replayed ?? false,
      }),
      ...payloadFields(t),
    }),
  });
}

/** The action payload's fields for a ledger outcome: the action, and its accounts as the action left them. */
export async function actionFields(outcome: ActionOutcome, context: Context) {
  if (outcome.preview) return { action: null, accounts: [], replayed: false, preview: outcome.preview };
  // An action without entries (a scheduled deposit, the void of a scheduled grant) names its account.
  const accountIds =
    outcome.entries.length > 0
      ? outcome.entries.map((entry) => entry.accountId)
      : [outcome.action.sourceAccountId ?? outcome.action.targetAccountId].filter((id): id is string => id !== null);
  // The write returned its accounts as it left them; only a replay, whose accounts may have moved since,
  // reads them (the request's loaders are renewed after every mutation field, see plugins/fresh-loaders.ts),
  // and shows each whole as it is now, never a mix of moments: the figures right after the original action are
  // its entries' (balanceAfter, sequence), while held, scheduled and available then are stored nowhere and
  // cannot be rebuilt exactly (holds and scheduled grants carry times, not the ledger's order).
  const written = new Map(outcome.accounts.map((account) => [account.id, account]));
  const accounts = accountIds.every((id) => written.has(id))
    ? accountIds.map((id) => defined(written.get(id), "a written account"))
    : (await context.loaders.account.loadMany(accountIds)).filter(
        (a): a is CreditAccount => a !== null && !(a instanceof Error),
      );
  return { action: outcome.action, accounts, replayed: outcome.replayed, preview: null };
}

/** The grant options of a deposit's input, with its expiry read in the tenant's time zone. */
export function grantOptions(grant: (typeof DepositInput.$inferInput)["grant"], context: Context) {
  if (!grant) return undefined;
  return {
    name: grant.name ?? null,
    category: grant.category ?? null,
    priority: grant.priority ?? null,
    expiresAt: optionalInputTime(grant.expiresAt, context) ?? null,
  };
}

function resolveDeposit(input: typeof DepositInput.$inferInput, context: Context) {
  return runMutation(context, input, {
    ids: { accountId: "CreditAccount" },
    writeOptions: true,
    write: ({ tenantId, ids, options }) =>
      context.ledger.deposit(tenantId, {
        ...options,
        ...ids,
        amount: input.amount,
        expected: input.expected,
        grant: grantOptions(input.grant, context),
      }),
    payload: (outcome) => actionFields(outcome, context),
  });
}

builder.mutationFields((t) => ({
  deposit: t.field({
    type: actionPayload("DepositPayload", "deposit"),
    description:
      "Adds credits to an account through a new grant. A deposit into an overdrawn account repays the overdraft first. With an `effectiveAt` in the future the grant is scheduled: recorded now, its credits enter the balance (an entry effective at that time) only when that time comes.",
    args: { input: t.arg({ type: DepositInput, required: true, description: "What to deposit." }) },
    resolve: (_root, { input }, context) => resolveDeposit(input, context),
  }),
  reduce: t.field({
    type: actionPayload("ReducePayload", "reduce"),
    description:
      "Takes credits from an account, spending its grants by priority, then soonest expiry, then oldest. Refused with INSUFFICIENT_CREDITS beyond the balance and overdraft.",
    args: { input: t.arg({ type: ReduceInput, required: true, description: "What to take." }) },
    resolve: (_root, { input }, context) =>
      runMutation(context, input, {
        ids: { accountId: "CreditAccount" },
        writeOptions: true,
        write: ({ tenantId, ids, options }) =>
          context.ledger.reduce(tenantId, { ...options, ...ids, amount: input.amount, expected: input.expected }),
        payload: (outcome) => actionFields(outcome, context),
      }),
  }),
  transfer: t.field({
    type: actionPayload("TransferPayload", "transfer"),
    description:
      "Moves credits between two accounts of the same currency, atomically; moved credits keep their category, priority and expiry.",
    args: { input: t.arg({ type: TransferInput, required: true, description: "What to move." }) },
    resolve: (_root, { input }, context) =>
      runMutation(context, input, {
        ids: { sourceAccountId: "CreditAccount", targetAccountId: "CreditAccount" },
        writeOptions: true,
        write: ({ tenantId, ids, options }) =>
          context.ledger.transfer(tenantId, {
            ...options,
            ...ids,
            amount: input.amount,
            expectedSource: input.expectedSource,
            expectedTarget: input.expectedTarget,
          }),
        payload: (outcome) => actionFields(outcome, context),
      }),
  }),
  createCreditGrant: t.field({
    type: actionPayload("CreateCreditGrantPayload", "createCreditGrant"),
    description:
      "Same as deposit: creates a grant of credits in an account (the Stripe-style name). The grant is `action.grant`.",
    args: { input: t.arg({ type: CreateCreditGrantInput, required: true, description: "The grant to create." }) },
    resolve: (_root, { input }, context) => resolveDeposit(input, context),
  }),
  voidCreditGrant: t.field({
    type: actionPayload("VoidCreditGrantPayload", "voidCreditGrant"),
    description:
      "Ends a grant early: what it still holds leaves the balance through a VOID action. What was spent stays spent. Refused with CREDITS_HELD when pending holds rely on those credits. A SCHEDULED grant is cancelled: the VOID has no entry and its deposit never takes effect.",
    args: { input: t.arg({ type: VoidGrantInput, required: true, description: "The grant to void." }) },
    resolve: (_root, { input }, context) =>
      runMutation(context, input, {
        ids: { grantId: "CreditGrant" },
        writeOptions: true,
        write: ({ tenantId, ids, options }) =>
          context.ledger.voidGrant(tenantId, { ...options, ...ids, expected: input.expected }),
        payload: (outcome) => actionFields(outcome, context),
      }),
  }),
  changeCreditGrantExpiry: t.field({
    type: actionPayload("ChangeCreditGrantExpiryPayload", "changeCreditGrantExpiry"),
    description:
      "Extends or shortens the expiry of a grant that still holds credits (Orb's expiration_change), through an EXPIRATION_CHANGE action in the account's history that moves nothing. It takes effect when recorded (effectiveAt cannot be in the past). A new expiry already passed expires the grant at once, through an EXPIRATION right after the change; that is refused with CREDITS_HELD when pending holds rely on the grant's credits.",
    args: {
      input: t.arg({ type: ChangeExpiryInput, required: true, description: "The grant and its new expiry." }),
    },
    resolve: (_root, { input }, context) =>
      runMutation(context, input, {
        ids: { grantId: "CreditGrant" },
        writeOptions: true,
        write: ({ tenantId, ids, options }) =>
          context.ledger.changeGrantExpiry(tenantId, {
            ...options,
            ...ids,
            expiresAt: optionalInputTime(input.expiresAt, context) ?? null,
            expected: input.expected,
          }),
        payload: (outcome) => actionFields(outcome, context),
      }),
  }),
  reverseCreditAction: t.field({
    type: actionPayload("ReverseCreditActionPayload", "reverseCreditAction"),
    description: "Undoes a deposit, reduction or transfer exactly, once, with a linked REVERSAL action.",
    args: { input: t.arg({ type: ReverseInput, required: true, description: "The action to reverse." }) },
    resolve: (_root, { input }, context) =>
      runMutation(context, input, {
        ids: { actionId: "CreditAction" },
        writeOptions: true,
        write: ({ tenantId, ids, options }) =>
          context.ledger.reverse(tenantId, {
            ...options,
            ...ids,
            expectedSource: input.expectedSource,
            expectedTarget: input.expectedTarget,
          }),
        payload: (outcome) => actionFields(outcome, context),
      }),
  }),
}));
