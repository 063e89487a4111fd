// Stores and partners: the tenant's points of sale and business partners that credit actions refer to
// (CareCloud store_id and partner_id), with their queries and mutations.
import { resolveOffsetConnection } from "@pothos/plugin-relay";
import type { Partner, Store } from "../generated/postgres/client.ts";
import { requireTenant } from "../auth/unauthenticated.ts";
import type { Context } from "../types.ts";
import { builder } from "./builder.ts";
import { tenantTime } from "./common.ts";
import { type Payload, payloadFields, runMutation } from "./mutation.ts";
import { checkOffsetPage, pageLimits } from "./pagination.ts";
import { PartnerRef, StoreRef, throwLoadErrors } from "./refs.ts";

for (const [ref, kind, loader] of [
  [StoreRef, "store", "store"],
  [PartnerRef, "partner", "partner"],
] as const) {
  builder.node(ref as typeof StoreRef, {
    description:
      kind === "store"
        ? "A point of sale or channel of the tenant's, where credits are earned or spent."
        : "A business partner of the tenant's, through whom credits are earned or spent.",
    id: { resolve: (row) => row.id },
    loadMany: (ids, context) =>
      context.loaders[loader].loadMany(ids).then(throwLoadErrors) as Promise<(Store | null)[]>,
    fields: (t) => ({
      externalId: t.string({
        nullable: true,
        description: `The tenant's own id of the ${kind}.`,
        resolve: (row) => row.externalId,
      }),
      name: t.string({ description: `Name of the ${kind}.`, resolve: (row) => row.name }),
      createdAt: t.field({
        type: "DateTime",
        description: "When it was created.",
        resolve: (row, _args, context) => tenantTime(row.createdAt, context),
      }),
    }),
  });
}

builder.queryFields((t) => ({
  stores: t.connection({
    type: StoreRef,
    description:
      "The tenant's stores, oldest first. Never null: a list that exists always (empty when there is nothing); its " +
      "only failures refuse the request itself (no valid key, a page size out of range), which an error says better than a null.",
    resolve: (_parent, args, context) => listPlaces(args, context, "store"),
  }),
  partners: t.connection({
    type: PartnerRef,
    description: "The tenant's partners, oldest first. Never null, for the same reason as `stores`.",
    resolve: (_parent, args, context) => listPlaces(args, context, "partner"),
  }),
}));

function listPlaces(
  args: { first?: number | null; last?: number | null; after?: string | null; before?: string | null },
  context: Context,
  kind: "store" | "partner",
) {
  const tenantId = requireTenant(context).id;
  checkOffsetPage(args, context);
  return resolveOffsetConnection(
    { args, defaultSize: pageLimits.default, maxSize: pageLimits.max },
    ({ limit, offset }) => {
      const query = {
        where: { tenantId },
        orderBy: [{ createdAt: "asc" as const }, { id: "asc" as const }],
        skip: offset,
        take: limit,
      };
      return kind === "store"
        ? context.database.read.store.findMany(query)
        : context.database.read.partner.findMany(query);
    },
  );
}

// Each mutation has an input of its own, named after it, although the two take the same fields today: a field
// one of them gains later (a store's address) must not appear on the other.
const placeInput = (name: string, kind: "store" | "partner") =>
  builder.inputType(name, {
    description: `A new ${kind}.`,
    fields: (t) => ({
      name: t.string({ required: true, description: "Display name (1 to 200 characters)." }),
      externalId: t.string({ required: false, description: "The tenant's own id for it, unique per tenant." }),
    }),
  });
const CreateStoreInput = placeInput("CreateStoreInput", "store");
const CreatePartnerInput = placeInput("CreatePartnerInput", "partner");

const CreateStorePayload = builder.objectRef<Payload<{ store: Store }>>("CreateStorePayload").implement({
  description: "Result of createStore.",
  fields: (t) => ({
    store: t.field({
      type: StoreRef,
      nullable: true,
      description: "The new store; null when userErrors is not empty.",
      resolve: (payload) => payload.store ?? null,
    }),
    ...payloadFields(t, "Why the store was not created."),
  }),
});

const CreatePartnerPayload = builder.objectRef<Payload<{ partner: Partner }>>("CreatePartnerPayload").implement({
  description: "Result of createPartner.",
  fields: (t) => ({
    partner: t.field({
      type: PartnerRef,
      nullable: true,
      description: "The new partner; null when userErrors is not empty.",
      resolve: (payload) => payload.partner ?? null,
    }),
    ...payloadFields(t, "Why the partner was not created."),
  }),
});

builder.mutationFields((t) => ({
  createStore: t.field({
    type: CreateStorePayload,
    description: "Creates a store that credit actions can name.",
    args: { input: t.arg({ type: CreateStoreInput, required: true, description: "The new store." }) },
    resolve: (_root, { input }, context) =>
      runMutation(context, input, {
        ids: {},
        write: ({ tenantId }) =>
          context.ledger.createStore(tenantId, { name: input.name, externalId: input.externalId }),
        payload: ({ store }) => ({ store }),
      }),
  }),
  createPartner: t.field({
    type: CreatePartnerPayload,
    description: "Creates a partner that credit actions can name.",
    args: { input: t.arg({ type: CreatePartnerInput, required: true, description: "The new partner." }) },
    resolve: (_root, { input }, context) =>
      runMutation(context, input, {
        ids: {},
        write: ({ tenantId }) =>
          context.ledger.createPartner(tenantId, { name: input.name, externalId: input.externalId }),
        payload: ({ partner }) => ({ partner }),
      }),
  }),
}));
