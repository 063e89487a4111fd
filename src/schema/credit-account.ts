// Credit accounts: one ledger of one customer in one currency or credit unit (Thought Industries' credit
// accounts). Balances (total, available, at any moment), grants, history, and the account mutations.
import { defined } from "../assert.ts";
import type { CreditAccount } from "../generated/postgres/client.ts";
import { balanceOf } from "../ledger/balances.ts";
import { requireTenant } from "../auth/unauthenticated.ts";
import { builder } from "./builder.ts";
import { inputTime, nullableTenantTime, tenantTime } from "./common.ts";
import { GrantStateEnum, grantState } from "./credit-grant.ts";
import { CreditHistoryConnectionRef, historyArgs, resolveHistory } from "./history.ts";
import { type Payload, payloadFields, runMutation } from "./mutation.ts";
import { CreditAccountRef, CreditGrantRef, CustomerRef, throwLoadErrors } from "./refs.ts";
import { resolveKeysetConnection } from "./pagination.ts";

export const AccountStatusEnum = builder.enumType("CreditAccountStatus", {
  description: "Whether an account takes new actions.",
  values: {
    OPEN: { description: "The account takes deposits, reductions and transfers." },
    CLOSED: { description: "The account was closed with a zero balance and takes no more actions." },
  },
});

builder.node(CreditAccountRef, {
  description: "One ledger of a customer's credits in one currency or credit unit.",
  id: { resolve: (account) => account.id },
  loadMany: (ids, context) => context.loaders.account.loadMany(ids).then(throwLoadErrors),
  fields: (t) => ({
    name: t.string({
      description: "Display name of the account (Thought Industries' creditAccountName).",
      resolve: (a) => a.name,
    }),
    currency: t.string({
      description: "ISO 4217 code (e.g. CZK) or credit unit (e.g. PTS) of every amount on the account.",
      resolve: (a) => a.currency,
    }),
    status: t.field({
      type: AccountStatusEnum,
      description: "Whether the account takes new actions.",
      resolve: (a) => a.status,
    }),
    customer: t.field({
      type: CustomerRef,
      description: "The customer who holds the account.",
      resolve: async (a, _args, context) =>
        defined(await context.loaders.customer.load(a.customerId), "the customer of an account"),
    }),
    balance: t.field({
      type: "Amount",
      description:
        "All credits on the account, in minor units; negative when overdrawn. Expired credits are already taken off.",
      resolve: (a) => a.balance,
    }),
    available: t.field({
      type: "Amount",
      description:
        "What a reduction could take now: the balance plus the unused overdraft, less what pending holds reserve (`held`), in minor units (zero when closed).",
      resolve: (a) => balanceOf(a).available,
    }),
    sequence: t.int({
      description:
        "How many entries the account has, which is the sequence number of its latest entry (0 for none). Every write to the account raises it; send it back as `expected: { sequence }` to write only if nothing has been written since.",
      resolve: (a) => a.entryCount,
    }),
    overdraftLimit: t.field({
      type: "Amount",
      description: "How far below zero the balance may go, in minor units; zero means no overdraft.",
      resolve: (a) => a.overdraftLimit,
    }),
    balanceAt: t.field({
      type: "Amount",
      description:
        "The balance at a moment: the sum of the entries effective at or before it. For a moment still to come, credits scheduled to expire by then are taken off.",
      args: {
        at: t.arg({
          type: "DateTime",
          required: true,
          description: "The moment (without an offset: the tenant's time zone).",
        }),
      },
      resolve: async (a, args, context) => {
        const result = await context.ledger.balanceAt(requireTenant(context).id, a.id, inputTime(args.at, context));
        if (!result.ok) throw new Error(result.error.message);
        return result.balance;
      },
    }),
    grants: t.connection({
      type: CreditGrantRef,
      description: "The account's grants (lots of credits), oldest first, optionally only those in one state.",
      args: { state: t.arg({ type: GrantStateEnum, required: false, description: "Only grants in this state." }) },
      // Paged by keyset (creation time, then id), like holds: stable while grants are added or change state.
      resolve: async (a, args, context) => {
        const grants = await context.loaders.grantsOfAccount.load(a.id);
        const now = context.ledger.clock();
        const selected = args.state ? grants.filter((grant) => grantState(grant, now) === args.state) : grants;
        return resolveKeysetConnection("grants", selected, "ASC", args, context);
      },
    }),
    history: t.field({
      type: CreditHistoryConnectionRef,
      description: "Every credit action on this account, newest effective first unless ordered otherwise.",
      args: historyArgs,
      resolve: (a, args, context) => resolveHistory({ kind: "account", id: a.id }, args, context),
    }),
    createdAt: t.field({
      type: "DateTime",
      description: "When the account was opened.",
      resolve: (a, _x, context) => tenantTime(a.createdAt, context),
    }),
    updatedAt: t.field({
      type: "DateTime",
      description: "When the account last changed (any action on it changes it).",
      resolve: (a, _x, context) => tenantTime(a.updatedAt, context),
    }),
    closedAt: t.field({
      type: "DateTime",
      nullable: true,
      description: "When the account was closed; null while open.",
      resolve: (a, _x, context) => nullableTenantTime(a.closedAt, context),
    }),
  }),
});

const OpenAccountInput = builder.inputType("OpenCreditAccountInput", {
  description: "A new credit account for a customer.",
  fields: (t) => ({
    customerId: t.id({ required: true, description: "Global ID of the customer." }),
    name: t.string({ required: true, description: "Display name (1 to 200 characters)." }),
    currency: t.string({
      required: true,
      description: "ISO 4217 code (e.g. CZK) or credit unit (e.g. PTS): 3 to 12 letters or digits.",
    }),
    overdraftLimit: t.field({
      type: "Amount",
      required: false,
      description: "How far below zero the balance may go, in minor units; default 0.",
    }),
  }),
});

const UpdateAccountInput = builder.inputType("UpdateCreditAccountInput", {
  description: "Changes to a credit account; omitted fields stay as they are.",
  fields: (t) => ({
    accountId: t.id({ required: true, description: "Global ID of the account." }),
    name: t.string({ required: false, description: "A new display name." }),
    overdraftLimit: t.field({
      type: "Amount",
      required: false,
      description: "A new overdraft limit in minor units (0 for none).",
    }),
  }),
});

const AccountIdInput = builder.inputType("CloseCreditAccountInput", {
  description: "The account to close.",
  fields: (t) => ({
    accountId: t.id({ required: true, description: "Global ID of the account; it must hold nothing." }),
  }),
});

type AccountPayload = Payload<{ account: CreditAccount }>;

function accountPayload(name: string, mutation: string) {
  return builder.objectRef<AccountPayload>(name).implement({
    description: `Result of ${mutation}.`,
    fields: (t) => ({
      account: t.field({
        type: CreditAccountRef,
        nullable: true,
        description: "The account; null when userErrors is not empty.",
        resolve: (p) => p.account ?? null,
      }),
      ...payloadFields(t),
    }),
  });
}

builder.mutationFields((t) => ({
  openCreditAccount: t.field({
    type: accountPayload("OpenCreditAccountPayload", "openCreditAccount"),
    description: "Opens a credit account for a customer.",
    args: { input: t.arg({ type: OpenAccountInput, required: true, description: "The new account." }) },
    resolve: (_root, { input }, context) =>
      runMutation(context, input, {
        ids: { customerId: "Customer" },
        write: ({ tenantId, ids }) =>
          context.ledger.openAccount(tenantId, {
            ...ids,
            name: input.name,
            currency: input.currency,
            overdraftLimit: input.overdraftLimit ?? 0n,
          }),
        payload: ({ account }) => ({ account }),
      }),
  }),
  updateCreditAccount: t.field({
    type: accountPayload("UpdateCreditAccountPayload", "updateCreditAccount"),
    description:
      "Renames an account or changes its overdraft limit. A lower limit is refused with CREDITS_HELD when pending holds rely on the overdraft it takes away.",
    args: { input: t.arg({ type: UpdateAccountInput, required: true, description: "The changes." }) },
    resolve: (_root, { input }, context) =>
      runMutation(context, input, {
        ids: { accountId: "CreditAccount" },
        write: ({ tenantId, ids }) =>
          context.ledger.updateAccount(tenantId, {
            ...ids,
            // Null, like an omitted field, leaves the value as it is: neither can be cleared.
            ...(input.name !== undefined && input.name !== null ? { name: input.name } : {}),
            ...(input.overdraftLimit !== undefined && input.overdraftLimit !== null
              ? { overdraftLimit: input.overdraftLimit }
              : {}),
          }),
        payload: ({ account }) => ({ account }),
      }),
  }),
  closeCreditAccount: t.field({
    type: accountPayload("CloseCreditAccountPayload", "closeCreditAccount"),
    description: "Closes an account that holds nothing; a closed account takes no more actions.",
    args: { input: t.arg({ type: AccountIdInput, required: true, description: "The account to close." }) },
    resolve: (_root, { input }, context) =>
      runMutation(context, input, {
        ids: { accountId: "CreditAccount" },
        write: ({ tenantId, ids }) => context.ledger.closeAccount(tenantId, ids),
        payload: ({ account }) => ({ account }),
      }),
  }),
}));
