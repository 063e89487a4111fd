// Credit grants: lots of credits with a category, a spending priority and an optional expiry (Stripe's
// credit grants). Created by deposits (or createCreditGrant), ended early by voidCreditGrant.
import { defined } from "../assert.ts";
import type { CreditGrant } from "../generated/postgres/client.ts";
import { builder } from "./builder.ts";
import { GrantCategoryEnum, nullableTenantTime, tenantTime } from "./common.ts";
import { CreditAccountRef, CreditActionRef, CreditGrantRef, throwLoadErrors } from "./refs.ts";

export type GrantState = "SCHEDULED" | "ACTIVE" | "EXPIRED" | "VOIDED" | "DEPLETED";

export const GrantStateEnum = builder.enumType("CreditGrantState", {
  description:
    "Where a grant is in its life. A voided grant is VOIDED, else one whose deposit has not taken effect is SCHEDULED, else a grant past its expiry is EXPIRED, else an empty one is DEPLETED.",
  values: {
    SCHEDULED: {
      description:
        "Created by a deposit effective later: its credits (`originalAmount`) are in the account's `scheduled`, not yet in its balance, and cannot be spent before `effectiveAt`.",
    },
    ACTIVE: { description: "Holds credits that can be spent." },
    EXPIRED: { description: "Reached its expiry; what it still held left through an expiration." },
    VOIDED: { description: "Ended early; what it still held left through a void." },
    DEPLETED: { description: "Fully spent (or transferred) before any expiry." },
  } satisfies Record<GrantState, { description: string }>,
});

export function grantState(grant: CreditGrant, now: Date): GrantState {
  if (grant.voidedAt !== null) return "VOIDED";
  // A read settles due grants before it shows them, so a grant still scheduled takes effect later.
  if (grant.scheduledAmount > 0n) return "SCHEDULED";
  if (grant.expiresAt !== null && grant.expiresAt <= now) return "EXPIRED";
  if (grant.remainingAmount === 0n) return "DEPLETED";
  return "ACTIVE";
}

builder.node(CreditGrantRef, {
  description:
    "A lot of credits in one account. Reductions spend grants by priority, then soonest expiry, then oldest.",
  id: { resolve: (grant) => grant.id },
  loadMany: (ids, context) => context.loaders.grant.loadMany(ids).then(throwLoadErrors),
  fields: (t) => ({
    account: t.field({
      type: CreditAccountRef,
      description: "The account holding the grant.",
      resolve: async (grant, _args, context) =>
        defined(await context.loaders.account.load(grant.accountId), "the account of a grant"),
    }),
    name: t.string({
      nullable: true,
      description: "A label for the grant (e.g. the campaign).",
      resolve: (grant) => grant.name,
    }),
    category: t.field({
      type: GrantCategoryEnum,
      description: "Paid or promotional credits.",
      resolve: (grant) => grant.category,
    }),
    priority: t.int({
      description: "0 to 100; grants with a lower priority are spent first.",
      resolve: (grant) => grant.priority,
    }),
    originalAmount: t.field({
      type: "Amount",
      description: "Credits the grant was created with, in minor units.",
      resolve: (grant) => grant.originalAmount,
    }),
    remainingAmount: t.field({
      type: "Amount",
      description: "Credits the grant still holds, in minor units.",
      resolve: (grant) => grant.remainingAmount,
    }),
    state: t.field({
      type: GrantStateEnum,
      description: "Where the grant is in its life.",
      resolve: (grant, _args, context) => grantState(grant, context.ledger.clock()),
    }),
    effectiveAt: t.field({
      type: "DateTime",
      description: "When the grant's credits became usable (for a SCHEDULED grant: will become).",
      resolve: (grant, _a, context) => tenantTime(grant.effectiveAt, context),
    }),
    expiresAt: t.field({
      type: "DateTime",
      nullable: true,
      description: "When unspent credits expire; null for never.",
      resolve: (grant, _a, context) => nullableTenantTime(grant.expiresAt, context),
    }),
    voidedAt: t.field({
      type: "DateTime",
      nullable: true,
      description: "When the grant was voided; null unless voided.",
      resolve: (grant, _a, context) => nullableTenantTime(grant.voidedAt, context),
    }),
    externalReference: t.string({
      nullable: true,
      description: "What the grant came from (e.g. an invoice).",
      resolve: (grant) => grant.externalReference,
    }),
    createdBy: t.field({
      type: CreditActionRef,
      nullable: true,
      description: "The deposit (or transfer) that created the grant.",
      resolve: (grant, _args, context) =>
        grant.createdByActionId ? context.loaders.action.load(grant.createdByActionId) : null,
    }),
    createdAt: t.field({
      type: "DateTime",
      description: "When the grant was recorded.",
      resolve: (grant, _a, context) => tenantTime(grant.createdAt, context),
    }),
  }),
});
