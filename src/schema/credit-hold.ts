// Credit holds: credits of an account reserved now and captured or released later (TigerBeetle's pending
// transfers, Stripe's authorizations), e.g. store credit reserved when an order is placed and taken when it
// ships. The hold node, the account's `held` and `holds`, an action's `hold`, and the mutations authorizeHold,
// captureHold and releaseHold.
import { defined } from "../assert.ts";
import type { CreditAccount, CreditAction, CreditHold } from "../generated/postgres/client.ts";
import type { HoldState } from "../generated/postgres/enums.ts";
import type { HoldOutcome } from "../ledger/index.ts";
import type { WritePreview } from "../ledger/outcome.ts";
import type { Context } from "../types.ts";
import { builder } from "./builder.ts";
import { expectedField, WritePreviewRef } from "./credit-action.ts";
import { nullableTenantTime, optionalInputTime, tenantTime } from "./common.ts";
import { type InputFieldBuilder, type Payload, payloadFields, runMutation, writeInputFields } from "./mutation.ts";
import { resolveKeysetConnection } from "./pagination.ts";
import { CreditAccountRef, CreditActionRef, CreditHoldRef, throwLoadErrors } from "./refs.ts";

export const HoldStateEnum = builder.enumType("CreditHoldState", {
  description: "Where a hold is in its life. A hold leaves PENDING exactly once.",
  values: {
    PENDING: { description: "Reserves its amount: the credits are in the balance but not available." },
    CAPTURED: { description: "Taken, wholly or in part, by a reduction; the rest was released." },
    RELEASED: { description: "Voided before its expiry; its credits are available again." },
    EXPIRED: { description: "Reached its expiry while pending and released itself." },
  } satisfies Record<HoldState, { description: string }>,
});

builder.node(CreditHoldRef, {
  description:
    "Credits of an account reserved for a later capture (an authorization): they stay in the balance but leave `available` until the hold is captured, released or expires.",
  id: { resolve: (hold) => hold.id },
  loadMany: (ids, context) => context.loaders.hold.loadMany(ids).then(throwLoadErrors),
  fields: (t) => ({
    account: t.field({
      type: CreditAccountRef,
      description: "The account whose credits the hold reserves.",
      resolve: async (hold, _args, context) =>
        defined(await context.loaders.account.load(hold.accountId), "the account of a hold"),
    }),
    state: t.field({
      type: HoldStateEnum,
      description: "Where the hold is in its life (a hold past its expiry is already EXPIRED when read).",
      resolve: (hold) => hold.state,
    }),
    amount: t.field({
      type: "Amount",
      description: "Credits the hold reserves (or reserved), in minor units.",
      resolve: (hold) => hold.amount,
    }),
    capturedAmount: t.field({
      type: "Amount",
      description: "Credits the capture took, in minor units; zero unless CAPTURED.",
      resolve: (hold) => hold.capturedAmount,
    }),
    releasedAmount: t.field({
      type: "Amount",
      description:
        "Credits given back when the hold left PENDING (the part a capture did not take, or all of a released or expired hold); zero while pending.",
      resolve: (hold) => (hold.state === "PENDING" ? 0n : hold.amount - hold.capturedAmount),
    }),
    currency: t.string({
      description: "ISO 4217 code or credit unit of the amounts (the account's).",
      resolve: async (hold, _args, context) => (await context.loaders.account.load(hold.accountId))?.currency ?? "",
    }),
    expiresAt: t.field({
      type: "DateTime",
      nullable: true,
      description: "When a pending hold releases itself; null for never.",
      resolve: (hold, _args, context) => nullableTenantTime(hold.expiresAt, context),
    }),
    closedAt: t.field({
      type: "DateTime",
      nullable: true,
      description:
        "When the hold left PENDING: its capture or release, or its expiry time for an expired hold; null while pending.",
      resolve: (hold, _args, context) => nullableTenantTime(hold.closedAt, context),
    }),
    authorization: t.field({
      type: CreditActionRef,
      description: "The HOLD action that placed the hold, with its note, external reference, store and initiator.",
      resolve: async (hold, _args, context) => {
        const actions = await context.loaders.actionsOfHold.load(hold.id);
        const placed = actions.find((action) => action.type === "HOLD");
        if (!placed) throw new Error(`Bug: hold ${hold.id} has no HOLD action.`);
        return placed;
      },
    }),
    capture: t.field({
      type: CreditActionRef,
      nullable: true,
      description: "The REDUCTION that captured the hold; null unless CAPTURED.",
      resolve: async (hold, _args, context) =>
        (await context.loaders.actionsOfHold.load(hold.id)).find((action) => action.type === "REDUCTION") ?? null,
    }),
    actions: t.field({
      type: [CreditActionRef],
      description:
        "The hold's transitions, oldest first: its HOLD, then its capture (a REDUCTION), HOLD_RELEASE or HOLD_EXPIRATION.",
      resolve: (hold, _args, context) => context.loaders.actionsOfHold.load(hold.id),
    }),
    createdAt: t.field({
      type: "DateTime",
      description: "When the hold was placed.",
      resolve: (hold, _args, context) => tenantTime(hold.createdAt, context),
    }),
    updatedAt: t.field({
      type: "DateTime",
      description: "When the hold last changed (when it left PENDING, or was placed).",
      resolve: (hold, _args, context) => tenantTime(hold.updatedAt, context),
    }),
  }),
});

builder.objectFields(CreditAccountRef, (t) => ({
  held: t.field({
    type: "Amount",
    description: "Credits reserved by the account's pending holds, in minor units; part of the balance, not available.",
    resolve: (account) => account.held,
  }),
  holds: t.connection({
    type: CreditHoldRef,
    description: "The account's holds, newest first, optionally only those in one state.",
    args: { state: t.arg({ type: HoldStateEnum, required: false, description: "Only holds in this state." }) },
    // Paged by keyset (creation time, then id): pages neither repeat nor skip a hold when holds are placed or
    // change state between two requests.
    resolve: async (account, args, context) => {
      const holds: CreditHold[] = await context.loaders.holdsOfAccount.load(account.id);
      const selected = args.state ? holds.filter((hold) => hold.state === args.state) : holds;
      return resolveKeysetConnection("holds", selected, "DESC", args, context);
    },
  }),
}));

builder.objectField(CreditActionRef, "hold", (t) =>
  t.field({
    type: CreditHoldRef,
    nullable: true,
    description: "For a hold's actions (HOLD, its capture's REDUCTION, HOLD_RELEASE, HOLD_EXPIRATION): the hold.",
    resolve: (action, _args, context) => (action.holdId ? context.loaders.hold.load(action.holdId) : null),
  }),
);

// ----- Mutations -------------------------------------------------------------------------------------
// Each hold mutation is its input, one ledger call and the hold payload; the plumbing (tenant, IDs, write
// options, user errors) is runMutation's, in mutation.ts.

/** The options a hold's write takes: every write's but effectiveAt, since a hold takes effect when recorded. */
export function holdWriteFields(t: InputFieldBuilder) {
  const { effectiveAt: _effectiveAt, ...fields } = writeInputFields(t);
  return fields;
}

/** The fields of authorizeHold but its condition and write options (also a batch item's; see credit-action.ts). */
export const authorizeHoldFields = (t: InputFieldBuilder) => ({
  accountId: t.id({ required: true, description: "Global ID of the account." }),
  amount: t.field({
    type: "Amount",
    required: true,
    description: "Credits to reserve, in minor units (greater than zero, at most what is available).",
  }),
  expiresAt: t.field({
    type: "DateTime",
    required: false,
    description: "When the hold releases itself if neither captured nor released (later than now); default never.",
  }),
});

/** The amount of a capture (also a batch item's); the hold's ID is described by each input. */
export const captureAmountField = (t: InputFieldBuilder) =>
  t.field({
    type: "Amount",
    required: false,
    description:
      "Credits to take, in minor units (greater than zero, at most the hold's amount); default the whole hold. The rest is released.",
  });

const AuthorizeHoldInput = builder.inputType("AuthorizeHoldInput", {
  description: "Credits of an account to reserve for a later capture.",
  fields: (t) => ({
    ...authorizeHoldFields(t),
    expected: expectedField(t, "Place the hold only if the account is still in this state; else ACCOUNT_CHANGED."),
    ...holdWriteFields(t),
  }),
});

const CaptureHoldInput = builder.inputType("CaptureHoldInput", {
  description: "The pending hold to capture, wholly or in part.",
  fields: (t) => ({
    holdId: t.id({ required: true, description: "Global ID of the hold." }),
    amount: captureAmountField(t),
    expected: expectedField(
      t,
      "Capture only if the hold's account is still in this state; else ACCOUNT_CHANGED. The capture's own release of the hold does not count: compare with the account as last read.",
    ),
    ...holdWriteFields(t),
  }),
});

const ReleaseHoldInput = builder.inputType("ReleaseHoldInput", {
  description: "The pending hold to release.",
  fields: (t) => ({
    holdId: t.id({ required: true, description: "Global ID of the hold." }),
    ...holdWriteFields(t),
  }),
});

/** What a hold mutation answers: the hold, the action written, the hold's account, whether it was a replay. */
type HoldPayload = Payload<{
  hold: CreditHold | null;
  action: CreditAction | null;
  account: CreditAccount | null;
  replayed: boolean;
  preview: WritePreview | null;
}>;

function holdPayload(name: string, mutation: string) {
  return builder.objectRef<HoldPayload>(name).implement({
    description: `Result of ${mutation}.`,
    fields: (t) => ({
      hold: t.field({
        type: CreditHoldRef,
        nullable: true,
        description:
          "The hold as the write left it (on a replay: as it is now); null when userErrors is not empty, and on a dry run (see `preview`).",
        resolve: (p) => p.hold ?? null,
      }),
      action: t.field({
        type: CreditActionRef,
        nullable: true,
        description:
          "The action written (or replayed): HOLD, the capture's REDUCTION, or HOLD_RELEASE; null when userErrors is not empty, and on a dry run (see `preview`).",
        resolve: (p) => p.action ?? null,
      }),
      preview: t.field({
        type: WritePreviewRef,
        nullable: true,
        description:
          "On a dry run (`dryRun: true`) that would write: the action it would record (HOLD, the capture's REDUCTION with its entries and the grants it would spend, or HOLD_RELEASE); nothing was written, no hold was placed or closed. Null otherwise.",
        resolve: (p) => p.preview ?? null,
      }),
      account: t.field({
        type: CreditAccountRef,
        nullable: true,
        description:
          "The hold's account as the write left it; on a replay, whole as it is now (every figure of one moment, so that it can be sent back as `expected`); null when userErrors is not empty, and on a dry run.",
        resolve: (p) => p.account ?? null,
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

/** The payload's fields for a hold outcome: the account as the write left it, or (a replay) as it is now. */
async function holdFields(outcome: HoldOutcome, context: Context) {
  if (outcome.preview) return { hold: null, action: null, account: null, replayed: false, preview: outcome.preview };
  const written = outcome.accounts.find((account) => account.id === outcome.hold.accountId);
  const account = written ?? defined(await context.loaders.account.load(outcome.hold.accountId), "a hold's account");
  return { hold: outcome.hold, action: outcome.action, account, replayed: outcome.replayed, preview: null };
}

builder.mutationFields((t) => ({
  authorizeHold: t.field({
    type: holdPayload("AuthorizeHoldPayload", "authorizeHold"),
    description:
      "Places a hold: reserves credits of an account for a later capture (a checkout's authorization). The balance stays; `available` goes down. Refused with INSUFFICIENT_CREDITS beyond what is available.",
    args: { input: t.arg({ type: AuthorizeHoldInput, required: true, description: "What to reserve." }) },
    resolve: (_root, { input }, context) =>
      runMutation(context, input, {
        ids: { accountId: "CreditAccount" },
        writeOptions: true,
        write: ({ tenantId, ids, options }) =>
          context.ledger.authorize(tenantId, {
            ...options,
            ...ids,
            amount: input.amount,
            expiresAt: optionalInputTime(input.expiresAt, context) ?? null,
            expected: input.expected,
          }),
        payload: (outcome) => holdFields(outcome, context),
      }),
  }),
  captureHold: t.field({
    type: holdPayload("CaptureHoldPayload", "captureHold"),
    description:
      "Takes all or part of a pending hold as a REDUCTION (spending grants in the usual order, now) and releases the rest. Refused with HOLD_NOT_PENDING once the hold was captured, released or has expired, and with CAPTURE_EXCEEDS_HOLD for more than the hold.",
    args: { input: t.arg({ type: CaptureHoldInput, required: true, description: "The hold and what to take." }) },
    resolve: (_root, { input }, context) =>
      runMutation(context, input, {
        ids: { holdId: "CreditHold" },
        writeOptions: true,
        write: ({ tenantId, ids, options }) =>
          context.ledger.capture(tenantId, {
            ...options,
            ...ids,
            amount: input.amount ?? null,
            expected: input.expected,
          }),
        payload: (outcome) => holdFields(outcome, context),
      }),
  }),
  releaseHold: t.field({
    type: holdPayload("ReleaseHoldPayload", "releaseHold"),
    description:
      "Voids a pending hold: its credits are available again. Refused with HOLD_NOT_PENDING once the hold was captured, released or has expired.",
    args: { input: t.arg({ type: ReleaseHoldInput, required: true, description: "The hold to release." }) },
    resolve: (_root, { input }, context) =>
      runMutation(context, input, {
        ids: { holdId: "CreditHold" },
        writeOptions: true,
        write: ({ tenantId, ids, options }) => context.ledger.release(tenantId, { ...options, ...ids }),
        payload: (outcome) => holdFields(outcome, context),
      }),
  }),
}));
