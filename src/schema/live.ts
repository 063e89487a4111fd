// Live balances: subscriptions, served over Server-Sent Events, that deliver one event per ledger entry
// written on an account (or on any account of a customer) after the write has committed, on whichever gateway
// instance it was made. Delivery, limits and the key's recheck live in src/server/live/; this file only
// checks the arguments and maps events to the schema.
import { renewLoaders, requireTenant, type Context } from "../server/context.ts";
import { accountTopic, customerTopic, type LedgerEvent } from "../server/live/events.ts";
import { keyRevoked } from "../server/live/subscriptions.ts";
import { defined } from "../assert.ts";
import { unauthenticated } from "../auth/unauthenticated.ts";
import { builder } from "./builder.ts";
import { argumentError, invalidIdArgument } from "./errors.ts";
import { decodeId } from "./ids.ts";
import { CreditAccountRef, CreditActionRef, CreditEntryRef } from "./refs.ts";

builder.subscriptionType({
  description:
    "Live updates over Server-Sent Events (send `Accept: text/event-stream`). Needs a key with the read scope. " +
    "Events are sent after the write has committed; a client that sees a gap in `sequence` refetches the account's history.",
});

const CreditAccountEventRef = builder.objectRef<LedgerEvent>("CreditAccountEvent").implement({
  description:
    "One entry written on an account: what happened (the action), the account's new balance and the entry's sequence number.",
  fields: (t) => ({
    sequence: t.int({
      description:
        "The entry's position in the account's ledger (1, 2, 3... without gaps). A jump means events were missed: refetch the " +
        "account's history from the last sequence seen. Events of writes made at once may arrive out of order.",
      resolve: (event) => event.sequence,
    }),
    balance: t.field({
      type: "Amount",
      description: "The account's balance right after this entry, in minor units.",
      resolve: (event) => BigInt(event.balance),
    }),
    account: t.field({
      type: CreditAccountRef,
      description: "The account, as it is now (it may have moved again since this entry).",
      resolve: async (event, _args, context) => found(await context.loaders.account.load(event.accountId), "account"),
    }),
    action: t.field({
      type: CreditActionRef,
      description: "The action that wrote the entry.",
      resolve: async (event, _args, context) => found(await context.loaders.action.load(event.actionId), "action"),
    }),
    entry: t.field({
      type: CreditEntryRef,
      description: "The entry itself: direction, amount, balance before and after.",
      resolve: async (event, _args, context) => {
        const entries = await context.loaders.entriesOfAction.load(event.actionId);
        return found(
          entries.find((entry) => entry.accountId === event.accountId && Number(entry.sequence) === event.sequence),
          "entry",
        );
      },
    }),
  }),
});

/** An event names rows of a committed write of the subscriber's own tenant, so they exist. */
function found<T>(row: T | null | undefined | Error, what: string): T {
  if (row instanceof Error) throw row;
  return defined(row, `the ${what} of a live event`);
}

/** Each event is read afresh: the loaders of the subscription's context would otherwise serve old balances. */
function deliver(event: LedgerEvent | typeof keyRevoked, context: Context): LedgerEvent {
  if (event === keyRevoked) throw unauthenticated(context.language);
  renewLoaders(context);
  return event;
}

function liveOf(context: Context) {
  if (!context.live) throw new Error("Bug: subscriptions need the gateway's live events");
  return context.live;
}

builder.subscriptionFields((t) => ({
  accountBalanceChanged: t.field({
    type: CreditAccountEventRef,
    description:
      "Every entry written on the account from now on: deposits, reductions, transfers in and out, expirations, voids and reversals.",
    args: {
      accountId: t.arg.id({ required: true, description: "Global ID of the credit account." }),
    },
    subscribe: async (_root, args, context) => {
      const tenant = requireTenant(context);
      const accountId = decodeId(String(args.accountId), "CreditAccount");
      if (!accountId) throw invalidIdArgument("accountId", "CreditAccount", String(args.accountId), context);
      const account = await context.loaders.account.load(accountId);
      if (!account) throw argumentError("ACCOUNT_NOT_FOUND", "accountId", context);
      const live = liveOf(context);
      return live.stream(
        defined(context.caller, "the caller of a subscription"),
        context.request,
        live.pubSub.subscribe("accountEntries", accountTopic(tenant.id, accountId)),
      );
    },
    resolve: (event, _args, context) => deliver(event, context),
  }),
  customerActivity: t.field({
    type: CreditAccountEventRef,
    description:
      "Every entry written on any of the customer's accounts from now on (a transfer between two of them is two events).",
    args: {
      customerId: t.arg.id({ required: true, description: "Global ID of the customer." }),
    },
    subscribe: async (_root, args, context) => {
      const tenant = requireTenant(context);
      const customerId = decodeId(String(args.customerId), "Customer");
      if (!customerId) throw invalidIdArgument("customerId", "Customer", String(args.customerId), context);
      const customer = await context.loaders.customer.load(customerId);
      if (!customer) throw argumentError("CUSTOMER_NOT_FOUND", "customerId", context);
      const live = liveOf(context);
      return live.stream(
        defined(context.caller, "the caller of a subscription"),
        context.request,
        live.pubSub.subscribe("customerEntries", customerTopic(tenant.id, customerId)),
      );
    },
    resolve: (event, _args, context) => deliver(event, context),
  }),
}));
