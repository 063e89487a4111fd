// Credit actions: the immutable ledger records, with everything the four source APIs show on an entry
// (type and its localized name, amount, times, store, partner, note, both accounts with their balances before
// and after, initiator, external reference, grants), and the mutations that move credits: deposit, reduce,
// transfer, createCreditGrant, voidCreditGrant and reverseCreditAction.
import type { CreditAccount, CreditAction } from "../generated/postgres/client.ts";
import type { ActionOutcome, LedgerResult, WriteOptions } from "../ledger/index.ts";
import type { PreviewAction, WritePreview } from "../ledger/outcome.ts";
import type { RecordedAllocation } from "../ledger/write-session.ts";
import { requireTenant, type Context } from "../server/context.ts";
import { builder } from "./builder.ts";
import { QueryRef, refetchDescription } from "./meta.ts";
import {
  ActionTypeEnum,
  DirectionEnum,
  GrantCategoryEnum,
  InitiatorInput,
  InitiatorTypeEnum,
  initiatorFrom,
  localizedTypeName,
  nullableTenantTime,
  optionalInputTime,
  tenantTime,
} from "./common.ts";
import { UserErrorRef, userErrorsOf, type UserError, invalidId } from "./errors.ts";
import { decodeId } from "./ids.ts";
import {
  CreditAccountRef,
  CreditActionRef,
  CreditEntryRef,
  CreditGrantRef,
  PartnerRef,
  StoreRef,
  throwLoadErrors,
} from "./refs.ts";
import type { DateTimeInput } from "./scalars.ts";

builder.objectType(CreditEntryRef, {
  description: "An action's effect on one account: a transfer has two, every other action one.",
  fields: (t) => ({
    account: t.field({
      type: CreditAccountRef,
      description: "The account.",
      resolve: async (entry, _args, context) => (await context.loaders.account.load(entry.accountId)) as never,
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
        resolve: async (a, _x, context) => (await context.loaders.grant.load(a.grantId)) as never,
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

const commonInputFields = (t: PothosSchemaTypesInputFieldBuilder) => ({
  idempotencyKey: t.string({
    required: false,
    description:
      "Retrying with the same key and the same input returns the first result (replayed: true) instead of writing again; 1 to 255 visible ASCII characters.",
  }),
  note: t.string({ required: false, description: "Free text about the action (at most 1,000 characters)." }),
  storeId: t.id({ required: false, description: "Global ID of the store where it happens." }),
  partnerId: t.id({ required: false, description: "Global ID of the partner through whom it happens." }),
  externalReference: t.string({
    required: false,
    description: "What it pays for or comes from, e.g. an invoice and line item (at most 255 characters).",
  }),
  effectiveAt: t.field({
    type: "DateTime",
    required: false,
    description: "When it takes effect; default now. May be in the past (backdating), never in the future.",
  }),
  initiator: t.field({
    type: InitiatorInput,
    required: false,
    description: "Who causes it, when not the API client itself.",
  }),
  dryRun: t.boolean({
    required: false,
    description:
      "True: answer what the write would do (`preview`, or the userErrors it would meet) without writing anything; the idempotency key stays unused. Default false.",
  }),
});

const AccountExpectationInput = builder.inputType("AccountExpectationInput", {
  description:
    "The state a write expects an account to be in, as the caller last read it (optimistic concurrency). When the account has moved since, the write is refused with ACCOUNT_CHANGED and nothing is written. Either part may be omitted.",
  fields: (t) => ({
    balance: t.field({
      type: "Amount",
      required: false,
      description: "The account's `balance` as last read, in minor units.",
    }),
    sequence: t.int({
      required: false,
      description:
        "The account's `sequence` as last read: how many entries it has (0 for none). It changes with every entry, even one that leaves the balance as it was, so it is the exact condition.",
    }),
  }),
});

const expectedField = (t: PothosSchemaTypesInputFieldBuilder, description: string) =>
  t.field({ type: AccountExpectationInput, required: false, description });

type PothosSchemaTypesInputFieldBuilder = Parameters<Parameters<typeof builder.inputType>[1]["fields"]>[0];

interface CommonInput {
  idempotencyKey?: string | null;
  note?: string | null;
  storeId?: string | number | null;
  partnerId?: string | number | null;
  externalReference?: string | null;
  effectiveAt?: DateTimeInput | null;
  initiator?: { type: "USER" | "SYSTEM" | "API_KEY"; id?: string | null } | null;
  dryRun?: boolean | null;
}

const GrantOptionsInput = builder.inputType("GrantOptionsInput", {
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

// deposit and createCreditGrant do the same, but each takes an input named after it, so that either can
// gain a field without the other.
const depositInput = (name: string, description: string) =>
  builder.inputType(name, {
    description,
    fields: (t) => ({
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
      expected: expectedField(t, "Deposit only if the account is still in this state; else ACCOUNT_CHANGED."),
      ...commonInputFields(t),
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
    accountId: t.id({ required: true, description: "Global ID of the account." }),
    amount: t.field({
      type: "Amount",
      required: true,
      description: "Credits to take, in minor units (greater than zero).",
    }),
    expected: expectedField(t, "Take only if the account is still in this state; else ACCOUNT_CHANGED."),
    ...commonInputFields(t),
  }),
});

const TransferInput = builder.inputType("TransferInput", {
  description: "Credits to move between two accounts of the same currency.",
  fields: (t) => ({
    sourceAccountId: t.id({ required: true, description: "Global ID of the account to take credits from." }),
    targetAccountId: t.id({ required: true, description: "Global ID of the account to add them to." }),
    amount: t.field({
      type: "Amount",
      required: true,
      description: "Credits to move, in minor units (greater than zero).",
    }),
    expectedSource: expectedField(t, "Move only if the source account is still in this state; else ACCOUNT_CHANGED."),
    expectedTarget: expectedField(t, "Move only if the target account is still in this state; else ACCOUNT_CHANGED."),
    ...commonInputFields(t),
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
    ...commonInputFields(t),
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
    ...commonInputFields(t),
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
    ...commonInputFields(t),
  }),
});

interface ActionPayload {
  action: CreditAction | null;
  accounts: CreditAccount[];
  replayed: boolean;
  dryRun?: boolean;
  preview?: WritePreview | null;
  userErrors: UserError[];
}

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

const WritePreviewRef = builder.objectRef<WritePreview>("WritePreview").implement({
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

function actionPayload(name: string, mutation: string) {
  return builder.objectRef<ActionPayload>(name).implement({
    description: `Result of ${mutation}.`,
    fields: (t) => ({
      action: t.field({
        type: CreditActionRef,
        nullable: true,
        description:
          "The action written (or replayed); null when userErrors is not empty, and on a dry run that would write (see `preview`).",
        resolve: (p) => p.action,
      }),
      dryRun: t.boolean({
        description: "True when the input asked for a dry run: nothing was written, whatever else the payload says.",
        resolve: (p) => p.dryRun === true,
      }),
      preview: t.field({
        type: WritePreviewRef,
        nullable: true,
        description:
          "On a dry run that would write: the action with its entries (balances before and after) and the grants it would spend, in order. Null otherwise: a dry run that would be refused has userErrors; one that would replay an earlier request with the same idempotency key has `replayed` and `action`.",
        resolve: (p) => p.preview ?? null,
      }),
      accounts: t.field({
        type: [CreditAccountRef],
        description:
          "The accounts the action touched, with `balance` and `available` as they were right after the action: " +
          "on a replay too, where they come from the original action's entries (as Stripe returns the original " +
          "response), not from the balances of today. Refetch the accounts (`node`) for their current balances.",
        resolve: (p) => p.accounts,
      }),
      replayed: t.boolean({
        description:
          "True when this is the stored result of an earlier request with the same idempotency key; nothing was written again.",
        resolve: (p) => p.replayed,
      }),
      userErrors: t.field({
        type: [UserErrorRef],
        description: "Why nothing was written.",
        resolve: (p) => p.userErrors,
      }),
      query: t.field({ type: QueryRef, description: refetchDescription, resolve: () => ({}) }),
    }),
  });
}

const failed = (userErrors: UserError[], dryRun = false): ActionPayload => ({
  action: null,
  accounts: [],
  replayed: false,
  dryRun,
  userErrors,
});

/** Decodes the common options; a bad store or partner ID is a user error. */
function writeOptions(input: CommonInput, context: Context): WriteOptions | UserError {
  const options: WriteOptions = {
    idempotencyKey: input.idempotencyKey ?? null,
    note: input.note ?? null,
    externalReference: input.externalReference ?? null,
    effectiveAt: optionalInputTime(input.effectiveAt, context) ?? null,
    initiator: initiatorFrom(input.initiator, context),
    dryRun: input.dryRun === true,
  };
  if (input.storeId !== null && input.storeId !== undefined) {
    const storeId = decodeId(String(input.storeId), "Store");
    if (!storeId) return invalidId("storeId", context);
    options.storeId = storeId;
  }
  if (input.partnerId !== null && input.partnerId !== undefined) {
    const partnerId = decodeId(String(input.partnerId), "Partner");
    if (!partnerId) return invalidId("partnerId", context);
    options.partnerId = partnerId;
  }
  return options;
}

/** Maps a ledger outcome to the payload, reloading the touched accounts (their loaders are cleared first). */
async function toPayload(
  result: LedgerResult<ActionOutcome>,
  context: Context,
  dryRun = false,
): Promise<ActionPayload> {
  if (!result.ok) return failed(userErrorsOf(result, context), dryRun);
  if (result.preview)
    return { action: null, accounts: [], replayed: false, dryRun, preview: result.preview, userErrors: [] };
  const accountIds = result.entries.map((entry) => entry.accountId);
  // The write returned its accounts as it left them; only a replay, whose accounts may have moved since,
  // reads them. (The request's loaders are renewed after every mutation field, see plugins/fresh-loaders.ts.)
  const written = new Map(result.accounts.map((account) => [account.id, account]));
  const loaded = accountIds.every((id) => written.has(id))
    ? accountIds.map((id) => written.get(id) as CreditAccount)
    : (await context.loaders.account.loadMany(accountIds)).filter(
        (a): a is CreditAccount => a !== null && !(a instanceof Error),
      );
  // A replay answers what the original request was answered: each account's balance right after the action,
  // from the action's own entries (balanceAfter), whatever happened to the account since.
  const after = new Map(result.balances.map(({ accountId, balance }) => [accountId, balance]));
  const accounts = result.replayed
    ? loaded.map((account) => ({ ...account, balance: after.get(account.id) ?? account.balance }))
    : loaded;
  return { action: result.action, accounts, replayed: result.replayed, dryRun, userErrors: [] };
}

async function resolveDeposit(input: typeof DepositInput.$inferInput, context: Context): Promise<ActionPayload> {
  const tenantId = requireTenant(context).id;
  const accountId = decodeId(String(input.accountId), "CreditAccount");
  if (!accountId) return failed([invalidId("accountId", context)], input.dryRun === true);
  const options = writeOptions(input, context);
  if (isUserError(options)) return failed([options], input.dryRun === true);
  const grant = input.grant;
  const result = await context.ledger.deposit(tenantId, {
    ...options,
    accountId,
    amount: input.amount,
    expected: input.expected,
    grant: grant
      ? {
          name: grant.name ?? null,
          category: grant.category ?? null,
          priority: grant.priority ?? null,
          expiresAt: optionalInputTime(grant.expiresAt, context) ?? null,
        }
      : undefined,
  });
  return toPayload(result, context, input.dryRun === true);
}

function isUserError(value: unknown): value is UserError {
  return typeof value === "object" && value !== null && "code" in value && "message" in value;
}

builder.mutationFields((t) => ({
  deposit: t.field({
    type: actionPayload("DepositPayload", "deposit"),
    description:
      "Adds credits to an account through a new grant. A deposit into an overdrawn account repays the overdraft first.",
    args: { input: t.arg({ type: DepositInput, required: true, description: "What to deposit." }) },
    resolve: (_root, { input }, context) => resolveDeposit(input, context),
  }),
  reduce: t.field({
    type: actionPayload("ReducePayload", "reduce"),
    description:
      "Takes credits from an account, spending its grants by priority, then soonest expiry, then oldest. Refused with INSUFFICIENT_CREDITS beyond the balance and overdraft.",
    args: { input: t.arg({ type: ReduceInput, required: true, description: "What to take." }) },
    resolve: async (_root, { input }, context) => {
      const tenantId = requireTenant(context).id;
      const accountId = decodeId(String(input.accountId), "CreditAccount");
      if (!accountId) return failed([invalidId("accountId", context)], input.dryRun === true);
      const options = writeOptions(input, context);
      if (isUserError(options)) return failed([options], input.dryRun === true);
      return toPayload(
        await context.ledger.reduce(tenantId, {
          ...options,
          accountId,
          amount: input.amount,
          expected: input.expected,
        }),
        context,
        input.dryRun === true,
      );
    },
  }),
  transfer: t.field({
    type: actionPayload("TransferPayload", "transfer"),
    description:
      "Moves credits between two accounts of the same currency, atomically; moved credits keep their category, priority and expiry.",
    args: { input: t.arg({ type: TransferInput, required: true, description: "What to move." }) },
    resolve: async (_root, { input }, context) => {
      const tenantId = requireTenant(context).id;
      const sourceAccountId = decodeId(String(input.sourceAccountId), "CreditAccount");
      if (!sourceAccountId) return failed([invalidId("sourceAccountId", context)], input.dryRun === true);
      const targetAccountId = decodeId(String(input.targetAccountId), "CreditAccount");
      if (!targetAccountId) return failed([invalidId("targetAccountId", context)], input.dryRun === true);
      const options = writeOptions(input, context);
      if (isUserError(options)) return failed([options], input.dryRun === true);
      return toPayload(
        await context.ledger.transfer(tenantId, {
          ...options,
          sourceAccountId,
          targetAccountId,
          amount: input.amount,
          expectedSource: input.expectedSource,
          expectedTarget: input.expectedTarget,
        }),
        context,
        input.dryRun === true,
      );
    },
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
      "Ends a grant early: what it still holds leaves the balance through a VOID action. What was spent stays spent.",
    args: { input: t.arg({ type: VoidGrantInput, required: true, description: "The grant to void." }) },
    resolve: async (_root, { input }, context) => {
      const tenantId = requireTenant(context).id;
      const grantId = decodeId(String(input.grantId), "CreditGrant");
      if (!grantId) return failed([invalidId("grantId", context)], input.dryRun === true);
      const options = writeOptions(input, context);
      if (isUserError(options)) return failed([options], input.dryRun === true);
      const result = await context.ledger.voidGrant(tenantId, { ...options, grantId, expected: input.expected });
      if (result.ok) context.loaders.grant.clear(grantId);
      return toPayload(result, context, input.dryRun === true);
    },
  }),
  changeCreditGrantExpiry: t.field({
    type: actionPayload("ChangeCreditGrantExpiryPayload", "changeCreditGrantExpiry"),
    description:
      "Extends or shortens the expiry of a grant that still holds credits (Orb's expiration_change), through an EXPIRATION_CHANGE action in the account's history that moves nothing. It takes effect when recorded (effectiveAt cannot be in the past). A new expiry already passed expires the grant at once, through an EXPIRATION right after the change.",
    args: {
      input: t.arg({ type: ChangeExpiryInput, required: true, description: "The grant and its new expiry." }),
    },
    resolve: async (_root, { input }, context) => {
      const tenantId = requireTenant(context).id;
      const grantId = decodeId(String(input.grantId), "CreditGrant");
      if (!grantId) return failed([invalidId("grantId", context)], input.dryRun === true);
      const options = writeOptions(input, context);
      if (isUserError(options)) return failed([options], input.dryRun === true);
      const result = await context.ledger.changeGrantExpiry(tenantId, {
        ...options,
        grantId,
        expiresAt: optionalInputTime(input.expiresAt, context) ?? null,
        expected: input.expected,
      });
      return toPayload(result, context, input.dryRun === true);
    },
  }),
  reverseCreditAction: t.field({
    type: actionPayload("ReverseCreditActionPayload", "reverseCreditAction"),
    description: "Undoes a deposit, reduction or transfer exactly, once, with a linked REVERSAL action.",
    args: { input: t.arg({ type: ReverseInput, required: true, description: "The action to reverse." }) },
    resolve: async (_root, { input }, context) => {
      const tenantId = requireTenant(context).id;
      const actionId = decodeId(String(input.actionId), "CreditAction");
      if (!actionId) return failed([invalidId("actionId", context)], input.dryRun === true);
      const options = writeOptions(input, context);
      if (isUserError(options)) return failed([options], input.dryRun === true);
      const result = await context.ledger.reverse(tenantId, {
        ...options,
        actionId,
        expectedSource: input.expectedSource,
        expectedTarget: input.expectedTarget,
      });
      if (result.ok) {
        context.loaders.action.clear(actionId);
        context.loaders.reversalOf.clear(actionId);
      }
      return toPayload(result, context, input.dryRun === true);
    },
  }),
}));
