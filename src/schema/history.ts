// Credit histories of customers and accounts as a Relay connection: cursors both ways, jumps to an offset
// or page number, ordering by any field of an action, and every filter the source APIs had. Each edge also
// says what the action did to the account it is listed under (direction, balance before and after). The
// reading itself is src/ledger/history.ts, batched by the `history` loader: one statement for all parents.
import { defined } from "../assert.ts";
import type { CreditEntry } from "../generated/postgres/client.ts";
import type { ActionType } from "../generated/postgres/enums.ts";
import { actionTypesMatching } from "../i18n/messages.ts";
import {
  checkHistoryArguments,
  defaultHistoryOrder,
  HistoryArgumentError,
  type historyOrderFields,
  historyPageLimits,
  type HistoryFilter,
  type HistoryPage,
  type HistoryParent,
} from "../ledger/history.ts";
import type { Context } from "../types.ts";
import type { HistoryKey } from "../server/loaders.ts";
import { builder } from "./builder.ts";
import {
  ActionTypeEnum,
  DirectionEnum,
  InitiatorTypeEnum,
  OrderDirectionEnum,
  inputTime,
  localizedDirectionName,
} from "./common.ts";
import { argumentError, invalidIdArgument } from "./errors.ts";
import { decodeId, type NodeTypeName } from "./ids.ts";
import { CreditAccountRef, CreditActionRef } from "./refs.ts";

const HistoryOrderFieldEnum = builder.enumType("CreditHistoryOrderField", {
  description:
    "What a history can be ordered by. Ties are broken by the entry's id in the same direction, so the order is total.",
  values: {
    EFFECTIVE_AT: { description: "When the action takes effect." },
    CREATED_AT: { description: "When the action was recorded." },
    UPDATED_AT: { description: "When the action last changed (a reversal changes the action it reverses)." },
    AMOUNT: { description: "The amount moved (always positive)." },
    TYPE: { description: "The action type, alphabetically by its code." },
    DIRECTION: { description: "CREDIT before DEBIT in ascending order." },
    NOTE: { description: "The note, case-insensitively; actions without a note sort as empty text." },
    EXTERNAL_REFERENCE: { description: "The external reference; actions without one sort as empty text." },
    INITIATOR_TYPE: { description: "The initiator type, alphabetically by its code." },
    CURRENCY: { description: "The currency code." },
    STORE_NAME: {
      description:
        "The name of the store (as it is now, by code point); entries without a store sort as empty text. CareCloud's sort by store.",
    },
    PARTNER_NAME: {
      description:
        "The name of the partner (as it is now, by code point); entries without a partner sort as empty text.",
    },
    ID: { description: "The entry id alone, which is also recording order." },
  } satisfies Record<(typeof historyOrderFields)[number], { description: string }>,
});

const HistoryOrderInput = builder.inputType("CreditHistoryOrder", {
  description: "The order of a history.",
  fields: (t) => ({
    field: t.field({ type: HistoryOrderFieldEnum, required: true, description: "What to order by." }),
    direction: t.field({ type: OrderDirectionEnum, required: true, description: "Ascending or descending." }),
  }),
});

const HistoryFilterInput = builder.inputType("CreditHistoryFilter", {
  description: "Narrows a history; every condition given must hold.",
  fields: (t) => ({
    types: t.field({ type: [ActionTypeEnum], required: false, description: "Only these action types." }),
    typeName: t.string({
      required: false,
      description:
        'Only types whose name contains this text in any supported language, ignoring case and accents (CareCloud\'s credit_operation_type), e.g. "vklad" or "dep".',
    }),
    direction: t.field({
      type: DirectionEnum,
      required: false,
      description: "Only credits to, or debits from, the account (Thought Industries' actionType).",
    }),
    note: t.string({
      required: false,
      description: "Only actions whose note contains this text, ignoring case; % and _ are literal.",
    }),
    effectiveFrom: t.field({
      type: "DateTime",
      required: false,
      description: "Effective at or after this moment (without an offset: the tenant's time zone).",
    }),
    effectiveTo: t.field({ type: "DateTime", required: false, description: "Effective before this moment." }),
    createdFrom: t.field({ type: "DateTime", required: false, description: "Recorded at or after this moment." }),
    createdTo: t.field({ type: "DateTime", required: false, description: "Recorded before this moment." }),
    stores: t.idList({ required: false, description: "Only actions at one of these stores (global IDs)." }),
    partners: t.idList({ required: false, description: "Only actions through one of these partners (global IDs)." }),
    grant: t.id({
      required: false,
      description: "Only actions that filled, spent, expired or voided this grant (Stripe's credit_grant).",
    }),
    initiatorTypes: t.field({
      type: [InitiatorTypeEnum],
      required: false,
      description: "Only actions caused by these kinds of party.",
    }),
    amountMin: t.field({
      type: "Amount",
      required: false,
      description: "Only amounts of at least this many minor units.",
    }),
    amountMax: t.field({
      type: "Amount",
      required: false,
      description: "Only amounts of at most this many minor units.",
    }),
  }),
});

export const historyArgs = builder.args((t) => ({
  first: t.int({
    required: false,
    description: "Returns at most this many entries from the start (or from `after`); default 20, at most 100.",
  }),
  after: t.string({ required: false, description: "Returns the entries after the entry with this cursor." }),
  last: t.int({
    required: false,
    description: "Returns at most this many entries from the end (or from `before`); at most 100.",
  }),
  before: t.string({ required: false, description: "Returns the entries before the entry with this cursor." }),
  offset: t.int({
    required: false,
    description: "Skips this many entries from the start (CareCloud's offset); with `first`, not with cursors.",
  }),
  page: t.int({
    required: false,
    description:
      "Page number from 1, of `first` entries each (Thought Industries' page); not with `offset` or cursors.",
  }),
  orderBy: t.field({
    type: HistoryOrderInput,
    required: false,
    description: "The order; default EFFECTIVE_AT descending (latest first).",
  }),
  filter: t.field({ type: HistoryFilterInput, required: false, description: "Conditions the entries must meet." }),
}));

interface HistoryEdge {
  entry: CreditEntry;
  cursor: string;
}

const HistoryEdgeRef = builder.objectRef<HistoryEdge>("CreditHistoryEdge").implement({
  description: "One action in a history, with what it did to the account it is listed under.",
  fields: (t) => ({
    cursor: t.string({
      description: "Opaque position of the entry, for `after` and `before`.",
      resolve: (edge) => edge.cursor,
    }),
    node: t.field({
      type: CreditActionRef,
      description: "The action.",
      resolve: async (edge, _args, context) =>
        defined(await context.loaders.action.load(edge.entry.actionId), "the action of a history entry"),
    }),
    account: t.field({
      type: CreditAccountRef,
      description: "The account this entry belongs to (for a customer's history, which of its accounts).",
      resolve: async (edge, _args, context) =>
        defined(await context.loaders.account.load(edge.entry.accountId), "the account of a history entry"),
    }),
    direction: t.field({
      type: DirectionEnum,
      description: "Whether the action added credits to the account or took them.",
      resolve: (edge) => edge.entry.direction,
    }),
    directionName: t.string({
      description: "The direction's name in the negotiated language.",
      resolve: (edge, _args, context) => localizedDirectionName(edge.entry.direction, context),
    }),
    amount: t.field({
      type: "Amount",
      description: "Credits moved on this account, in minor units.",
      resolve: (edge) => edge.entry.amount,
    }),
    balanceBefore: t.field({
      type: "Amount",
      description: "The account's balance just before the action.",
      resolve: (edge) => edge.entry.balanceBefore,
    }),
    balanceAfter: t.field({
      type: "Amount",
      description: "The account's balance just after the action.",
      resolve: (edge) => edge.entry.balanceAfter,
    }),
    sequence: t.int({
      description:
        "The entry's position in its account's ledger (1, 2, 3... without gaps), as live events carry it: a client that " +
        "missed events reads the account's history ordered by ID and takes the entries after the last sequence it saw.",
      resolve: (edge) => edge.entry.sequence,
    }),
  }),
});

/**
 * A history field's arguments, checked, and its page, read only when `edges` or `pageInfo` is selected: a
 * query for `totalCount` alone costs the count and nothing else.
 */
interface HistoryResult {
  key: HistoryKey;
  page(): Promise<HistoryPage>;
}

export const CreditHistoryConnectionRef = builder.objectRef<HistoryResult>("CreditHistoryConnection").implement({
  description: "One page of a credit history, with cursors to the pages around it and the total count.",
  fields: (t) => ({
    edges: t.field({
      type: [HistoryEdgeRef],
      description: "The entries of this page, each with its cursor.",
      resolve: async (result) => {
        const page = await result.page();
        return page.entries.map((entry, index) => ({ entry, cursor: page.cursors[index] as string }));
      },
    }),
    pageInfo: t.field({
      type: builder.pageInfoRef(),
      description: "Where this page lies in the whole history.",
      resolve: async (result) => {
        const page = await result.page();
        return {
          hasNextPage: page.hasNextPage,
          hasPreviousPage: page.hasPreviousPage,
          startCursor: page.startCursor,
          endCursor: page.endCursor,
        };
      },
    }),
    totalCount: t.int({
      description: "How many entries match the filter in all (Thought Industries' total); counted only when asked for.",
      resolve: ({ key }, _args, context) => refusingBadArguments(context, () => context.loaders.historyCount.load(key)),
    }),
  }),
});

type HistoryArgs = {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
  offset?: number | null;
  page?: number | null;
  orderBy?: { field: (typeof historyOrderFields)[number]; direction: "ASC" | "DESC" } | null;
  filter?: typeof HistoryFilterInput.$inferInput | null;
};

export async function resolveHistory(
  parent: HistoryParent,
  args: HistoryArgs,
  context: Context,
): Promise<HistoryResult> {
  let offset = args.offset ?? null;
  if (args.page !== null && args.page !== undefined) {
    if (offset !== null || args.after || args.before || (args.last !== null && args.last !== undefined)) {
      throw argumentError(
        "INVALID_PAGINATION",
        "page",
        context,
        { reason: "page-alone" },
        "page goes with first only.",
      );
    }
    if (!Number.isInteger(args.page) || args.page < 1)
      throw argumentError(
        "INVALID_PAGINATION",
        "page",
        context,
        { reason: "page-start", value: String(args.page) },
        "page starts at 1.",
      );
    offset = (args.page - 1) * (args.first ?? historyPageLimits.default);
  }
  const key: HistoryKey = {
    parent,
    filter: historyFilter(args.filter ?? null, context),
    order: args.orderBy ?? defaultHistoryOrder,
    page: {
      first: args.first ?? null,
      after: args.after ?? null,
      last: args.last ?? null,
      before: args.before ?? null,
      offset,
    },
  };
  // Bad arguments are refused here, whichever fields are selected; the page is read on demand.
  await refusingBadArguments(context, async () =>
    checkHistoryArguments(context.database.engine, key.filter, key.order, key.page),
  );
  return { key, page: () => refusingBadArguments(context, () => context.loaders.history.load(key)) };
}

/** The API's names of the filter arguments that the ledger's filter calls otherwise (see historyFilter). */
const apiFilterNames: Readonly<Record<string, string>> = {
  "filter.noteContains": "filter.note",
  "filter.storeIds": "filter.stores",
  "filter.partnerIds": "filter.partners",
  "filter.grantId": "filter.grant",
};

/** Runs a history read, turning refused arguments into the API's argument errors, named as the API names them. */
async function refusingBadArguments<T>(context: Context, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof HistoryArgumentError) {
      const field = apiFilterNames[error.field] ?? error.field;
      throw argumentError(error.code, field, context, { argument: field, ...error.params }, error.message);
    }
    throw error;
  }
}

function historyFilter(filter: HistoryArgs["filter"], context: Context): HistoryFilter {
  if (!filter) return {};
  let types: ActionType[] | null = filter.types ?? null;
  if (filter.typeName !== null && filter.typeName !== undefined && filter.typeName.trim() !== "") {
    const named = actionTypesMatching(filter.typeName, context.language);
    types = types ? types.filter((type) => named.includes(type)) : named;
  }
  return {
    types,
    direction: filter.direction ?? null,
    noteContains: filter.note ?? null,
    effectiveFrom: filter.effectiveFrom ? inputTime(filter.effectiveFrom, context) : null,
    effectiveTo: filter.effectiveTo ? inputTime(filter.effectiveTo, context) : null,
    createdFrom: filter.createdFrom ? inputTime(filter.createdFrom, context) : null,
    createdTo: filter.createdTo ? inputTime(filter.createdTo, context) : null,
    storeIds: filter.stores
      ? filter.stores.map((id) => decodeOrRefuse(String(id), "Store", "filter.stores", context))
      : null,
    partnerIds: filter.partners
      ? filter.partners.map((id) => decodeOrRefuse(String(id), "Partner", "filter.partners", context))
      : null,
    grantId: filter.grant ? decodeOrRefuse(String(filter.grant), "CreditGrant", "filter.grant", context) : null,
    initiatorTypes: filter.initiatorTypes ?? null,
    amountMin: filter.amountMin ?? null,
    amountMax: filter.amountMax ?? null,
  };
}

function decodeOrRefuse(globalId: string, type: NodeTypeName, field: string, context: Context): string {
  const id = decodeId(globalId, type);
  if (!id) throw invalidIdArgument(field, type, globalId, context);
  return id;
}
