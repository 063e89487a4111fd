// Credit holds: credits of an account reserved now and captured or released later (TigerBeetle's pending
// transfers, Stripe's authorizations), e.g. store credit reserved when an order is placed and taken when it
// ships. The hold node, the account's `held` and `holds`, an action's `hold`, and the mutations authorizeHold,
// captureHold and releaseHold.
import { resolveArrayConnection } from "@pothos/plugin-relay";
import type { CreditHold } from "../generated/postgres/client.ts";
import type { HoldState } from "../generated/postgres/enums.ts";
import { builder } from "./builder.ts";
import { nullableTenantTime, tenantTime } from "./common.ts";
import { checkPageSize, pageLimits } from "./pagination.ts";
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
      resolve: async (hold, _args, context) => (await context.loaders.account.load(hold.accountId)) as never,
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
    resolve: async (account, args, context) => {
      checkPageSize(args, context);
      const holds: CreditHold[] = await context.loaders.holdsOfAccount.load(account.id);
      const selected = args.state ? holds.filter((hold) => hold.state === args.state) : holds;
      return resolveArrayConnection(
        { args, defaultSize: pageLimits.default, maxSize: pageLimits.max },
        selected,
      ) as never;
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
