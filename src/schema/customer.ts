// Customers: the people whose credits the ledger holds. Found by global ID, by the tenant's own external id
// (CareCloud customer_id, Inveterate member id) or by searching; each has credit accounts, balances per
// currency and a credit history across all its accounts.
import { resolveOffsetConnection } from "@pothos/plugin-relay";
import type { Customer } from "../generated/postgres/client.ts";
import { currencyTotals, type CurrencyTotal } from "../ledger/balances.ts";
import { searchCustomers } from "../ledger/customer-search.ts";
import { requireTenant } from "../auth/unauthenticated.ts";
import { builder } from "./builder.ts";
import { tenantTime } from "./common.ts";
import { invalidIdArgument, requireExactlyOne } from "./errors.ts";
import { historyArgs, resolveHistory, CreditHistoryConnectionRef } from "./history.ts";
import { decodeId } from "./ids.ts";
import { type Payload, payloadFields, runMutation } from "./mutation.ts";
import { CreditAccountRef, CustomerRef, throwLoadErrors } from "./refs.ts";
import { checkOffsetPage, pageLimits } from "./pagination.ts";

const CurrencyBalanceRef = builder.objectRef<CurrencyTotal>("CurrencyBalance").implement({
  description: "A customer's credits in one currency or credit unit, over all its accounts in it.",
  fields: (t) => ({
    currency: t.string({ description: "ISO 4217 code or credit unit (e.g. PTS).", resolve: (total) => total.currency }),
    balance: t.field({
      type: "Amount",
      description: "Sum of the accounts' balances, in minor units.",
      resolve: (total) => total.balance,
    }),
    available: t.field({
      type: "Amount",
      description: "Sum of what the accounts could spend now (balance plus unused overdraft), in minor units.",
      resolve: (total) => total.available,
    }),
    scheduled: t.field({
      type: "Amount",
      description:
        "Sum of the accounts' scheduled credits (grants that take effect later, not yet in the balance), in minor units.",
      resolve: (total) => total.scheduled,
    }),
    accountCount: t.int({
      description: "Number of accounts in this currency.",
      resolve: (total) => total.accountCount,
    }),
  }),
});

builder.node(CustomerRef, {
  description: "A customer of the tenant's, holding credits in one or more credit accounts.",
  id: { resolve: (customer) => customer.id },
  loadMany: (ids, context) => context.loaders.customer.loadMany(ids).then(throwLoadErrors),
  fields: (t) => ({
    externalId: t.string({
      description: "The tenant's own id of the customer, unique per tenant.",
      resolve: (c) => c.externalId,
    }),
    name: t.string({ nullable: true, description: "The customer's name.", resolve: (c) => c.name }),
    email: t.string({ nullable: true, description: "The customer's email address.", resolve: (c) => c.email }),
    createdAt: t.field({
      type: "DateTime",
      description: "When the customer was created.",
      resolve: (c, _a, context) => tenantTime(c.createdAt, context),
    }),
    updatedAt: t.field({
      type: "DateTime",
      description: "When the customer was last changed.",
      resolve: (c, _a, context) => tenantTime(c.updatedAt, context),
    }),
    accounts: t.field({
      type: [CreditAccountRef],
      description: "The customer's credit accounts, oldest first (closed ones included).",
      resolve: (c, _args, context) => context.loaders.accountsOfCustomer.load(c.id),
    }),
    balances: t.field({
      type: [CurrencyBalanceRef],
      description: "The customer's credits per currency or credit unit, over all its accounts.",
      resolve: async (c, _args, context) => currencyTotals(await context.loaders.accountsOfCustomer.load(c.id)),
    }),
    history: t.field({
      type: CreditHistoryConnectionRef,
      description:
        "Every credit action on any of the customer's accounts (a transfer between two of them appears once per account), newest effective first unless ordered otherwise.",
      args: historyArgs,
      resolve: (c, args, context) => resolveHistory({ kind: "customer", id: c.id }, args, context),
    }),
  }),
});

builder.queryFields((t) => ({
  customer: t.field({
    type: CustomerRef,
    nullable: true,
    description:
      "A customer by global ID or by the tenant's own external id: give exactly one of the two; both or neither is " +
      "refused with INVALID_ARGUMENTS, an `id` that is not a customer's global ID with INVALID_ID. Null when there is no such customer.",
    // Two optional arguments rather than a @oneOf input, so that existing clients keep working; the rule
    // that exactly one is given is enforced here, where @oneOf would have enforced it in validation.
    args: {
      id: t.arg.id({ required: false, description: "Global ID of the customer (not with externalId)." }),
      externalId: t.arg.string({ required: false, description: "The tenant's own id of the customer (not with id)." }),
    },
    resolve: async (_root, args, context) => {
      requireTenant(context);
      requireExactlyOne(args, ["id", "externalId"], context);
      if (args.id !== null && args.id !== undefined) {
        // Null means no such customer; an ID that cannot name a customer at all (malformed, or of another type)
        // is a mistake in the request, refused as the history's filters and the mutations refuse it.
        const id = decodeId(String(args.id), "Customer");
        if (!id) throw invalidIdArgument("id", "Customer", String(args.id), context);
        return context.loaders.customer.load(id);
      }
      return context.loaders.customerByExternalId.load(String(args.externalId));
    },
  }),
  customers: t.connection({
    type: CustomerRef,
    description:
      "The tenant's customers, oldest first; `search` narrows them by external id, name or email. Never null, like " +
      "`stores`: the list always exists, and a refused request (no valid key, a page size out of range) is an error.",
    args: {
      search: t.arg.string({
        required: false,
        description: "Part of the external id, name or email, ignoring case; % and _ are literal.",
      }),
    },
    resolve: (_root, args, context) => {
      const tenantId = requireTenant(context).id;
      checkOffsetPage(args, context);
      return resolveOffsetConnection(
        { args, defaultSize: pageLimits.default, maxSize: pageLimits.max },
        ({ limit, offset }) => searchCustomers(context.database, tenantId, args.search ?? "", { offset, limit }),
      );
    },
  }),
}));

const CreateCustomerInput = builder.inputType("CreateCustomerInput", {
  description: "A new customer.",
  fields: (t) => ({
    externalId: t.string({ required: true, description: "The tenant's own id of the customer, unique per tenant." }),
    name: t.string({ required: false, description: "The customer's name." }),
    email: t.string({ required: false, description: "The customer's email address." }),
  }),
});

const UpdateCustomerInput = builder.inputType("UpdateCustomerInput", {
  description: "Changes to a customer; omitted fields stay as they are, null clears name or email.",
  fields: (t) => ({
    customerId: t.id({ required: true, description: "Global ID of the customer." }),
    externalId: t.string({ required: false, description: "A new external id, unique per tenant." }),
    name: t.string({ required: false, description: "The customer's name." }),
    email: t.string({ required: false, description: "The customer's email address." }),
  }),
});

type CustomerPayload = Payload<{ customer: Customer }>;

const customerPayload = (name: string, mutation: string) =>
  builder.objectRef<CustomerPayload>(name).implement({
    description: `Result of ${mutation}.`,
    fields: (t) => ({
      customer: t.field({
        type: CustomerRef,
        nullable: true,
        description: "The customer; null when userErrors is not empty.",
        resolve: (p) => p.customer ?? null,
      }),
      ...payloadFields(t),
    }),
  });

builder.mutationFields((t) => ({
  createCustomer: t.field({
    type: customerPayload("CreateCustomerPayload", "createCustomer"),
    description: "Creates a customer.",
    args: { input: t.arg({ type: CreateCustomerInput, required: true, description: "The new customer." }) },
    resolve: (_root, { input }, context) =>
      runMutation(context, input, {
        ids: {},
        write: ({ tenantId }) => context.ledger.createCustomer(tenantId, input),
        payload: ({ customer }) => ({ customer }),
      }),
  }),
  updateCustomer: t.field({
    type: customerPayload("UpdateCustomerPayload", "updateCustomer"),
    description: "Changes a customer's external id, name or email.",
    args: { input: t.arg({ type: UpdateCustomerInput, required: true, description: "The changes." }) },
    resolve: (_root, { input }, context) =>
      runMutation(context, input, {
        ids: { customerId: "Customer" },
        write: ({ tenantId, ids }) =>
          context.ledger.updateCustomer(tenantId, {
            ...ids,
            // An omitted field stays as it is; null clears name and email, but an external id cannot be cleared.
            ...(input.externalId !== undefined && input.externalId !== null ? { externalId: input.externalId } : {}),
            ...(input.name !== undefined ? { name: input.name } : {}),
            ...(input.email !== undefined ? { email: input.email } : {}),
          }),
        payload: ({ customer }) => ({ customer }),
      }),
  }),
}));
