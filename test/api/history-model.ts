// A varied credit history built through the API's mutations, together with an independent model of it in
// plain JavaScript: which entries each action wrote, on which account, in which direction, with which
// balances. Tests ask the API for a filtered or ordered history and compare it with what the model computes
// from the inputs alone, so the expectation never comes from the code under test.
//
// The only thing the model takes from the API is the relative order of the two entries of one transfer,
// which the API leaves to the database (entry ids); it is read once from the ID order, after checking that
// the ID order follows the order in which the actions were recorded.
import { expect } from "vitest";
import type { ApiFixture, UserErrorBody } from "../support/api.ts";

export type Direction = "CREDIT" | "DEBIT";
export type ActionType = "DEPOSIT" | "REDUCTION" | "TRANSFER" | "EXPIRATION" | "VOID" | "REVERSAL";
export type InitiatorType = "API_KEY" | "USER" | "SYSTEM";

export interface ModelEntry {
  /** The entry's identity in a history: the action and the account it is listed under. */
  key: string;
  action: ModelAction;
  accountId: string;
  customerId: string;
  direction: Direction;
  amount: bigint;
  balanceBefore: bigint;
  balanceAfter: bigint;
}

export interface ModelAction {
  /** Position in recording order, from 0. */
  index: number;
  id: string;
  type: ActionType;
  amount: bigint;
  currency: string;
  note: string | null;
  externalReference: string | null;
  storeId: string | null;
  partnerId: string | null;
  initiatorType: InitiatorType;
  initiatorId: string | null;
  effectiveAt: Date;
  createdAt: Date;
  updatedAt: Date;
  entries: ModelEntry[];
}

/** What every test reads of an action. */
export const actionFields = `
  id type typeName amount currency note externalReference effectiveAt createdAt updatedAt idempotencyKey
  store { id name } partner { id name } initiator { type id }
  sourceAccount { id name } targetAccount { id name }
  sourceBalanceBefore sourceBalanceAfter targetBalanceBefore targetBalanceAfter
`;

export const edgeFields = `cursor direction directionName amount balanceBefore balanceAfter account { id name } node { ${actionFields} }`;

const mutationOf = {
  DEPOSIT: { field: "deposit", input: "DepositInput" },
  REDUCTION: { field: "reduce", input: "ReduceInput" },
  TRANSFER: { field: "transfer", input: "TransferInput" },
  REVERSAL: { field: "reverseCreditAction", input: "ReverseCreditActionInput" },
} as const;

export interface Step {
  type: keyof typeof mutationOf;
  /** The mutation's input as sent (IDs already global). */
  input: Record<string, unknown>;
  /** The instant a backdated effectiveAt names, written out by hand; the clock's time when absent. */
  effectiveInstant?: string;
}

/** Lower case as the ledger folds notes for search and for the NOTE order (NFKC, then lower case). */
export function fold(text: string): string {
  return text.normalize("NFKC").toLocaleLowerCase("und");
}

export class HistoryModel {
  readonly actions: ModelAction[] = [];
  readonly balances = new Map<string, bigint>();
  readonly customerOf = new Map<string, string>();
  readonly currencyOf = new Map<string, string>();
  /** Recording rank of each entry (see the file's opening comment); filled by `learnEntryOrder`. */
  readonly rank = new Map<string, number>();
  /** Names of the stores and partners by id, for the STORE_NAME and PARTNER_NAME orders. */
  readonly placeNames = new Map<string, string>();

  constructor(private readonly api: ApiFixture) {}

  addAccount(accountId: string, customerId: string, currency: string): void {
    this.customerOf.set(accountId, customerId);
    this.currencyOf.set(accountId, currency);
    this.balances.set(accountId, 0n);
  }

  /** Runs a mutation, checks its payload against the model, records it, and moves the clock a minute on. */
  async run(step: Step): Promise<ModelAction> {
    const { field, input } = mutationOf[step.type];
    const body = await this.api.data<
      Record<
        string,
        {
          action: { id: string; type: string; amount: string; effectiveAt: string; createdAt: string } | null;
          accounts: { id: string; balance: string }[];
          replayed: boolean;
          userErrors: UserErrorBody[];
        }
      >
    >(
      `mutation ($input: ${input}!) { ${field}(input: $input) {
        action { id type amount effectiveAt createdAt } accounts { id balance } replayed userErrors { code field message } } }`,
      { input: step.input },
    );
    const payload = body[field]!;
    expect(payload.userErrors).toEqual([]);
    expect(payload.replayed).toBe(false);
    const action = this.record(step, payload.action!.id);
    expect(payload.action!.type).toBe(action.type);
    expect(payload.action!.amount).toBe(action.amount.toString());
    expect(Date.parse(payload.action!.effectiveAt)).toBe(action.effectiveAt.getTime());
    expect(Date.parse(payload.action!.createdAt)).toBe(action.createdAt.getTime());
    // The mutation answers with every touched account's new balance (Inveterate's "returns the new balance").
    expect(Object.fromEntries(payload.accounts.map((account) => [account.id, account.balance]))).toEqual(
      Object.fromEntries(
        action.entries.map((entry) => [entry.accountId, this.balances.get(entry.accountId)!.toString()]),
      ),
    );
    this.api.advance(60_000);
    return action;
  }

  private record(step: Step, id: string): ModelAction {
    const input = step.input;
    const now = this.api.now();
    const original = step.type === "REVERSAL" ? this.actions.find((action) => action.id === input.actionId) : undefined;
    if (step.type === "REVERSAL" && !original) throw new Error("The model can only reverse actions it recorded.");
    const initiator = input.initiator as { type: InitiatorType; id?: string } | undefined;
    const action: ModelAction = {
      index: this.actions.length,
      id,
      type: step.type,
      amount: original ? original.amount : BigInt(input.amount as string),
      currency: "",
      note: (input.note as string | undefined) ?? null,
      externalReference: (input.externalReference as string | undefined) ?? null,
      storeId: (input.storeId as string | undefined) ?? null,
      partnerId: (input.partnerId as string | undefined) ?? null,
      initiatorType: initiator?.type ?? "API_KEY",
      initiatorId: initiator ? (initiator.id ?? null) : this.api.apiKeyId,
      effectiveAt: step.effectiveInstant ? new Date(step.effectiveInstant) : now,
      createdAt: now,
      updatedAt: now,
      entries: [],
    };
    const sides: { accountId: string; direction: Direction }[] =
      step.type === "DEPOSIT"
        ? [{ accountId: input.accountId as string, direction: "CREDIT" }]
        : step.type === "REDUCTION"
          ? [{ accountId: input.accountId as string, direction: "DEBIT" }]
          : step.type === "TRANSFER"
            ? [
                { accountId: input.sourceAccountId as string, direction: "DEBIT" },
                { accountId: input.targetAccountId as string, direction: "CREDIT" },
              ]
            : original!.entries.map((entry) => ({
                accountId: entry.accountId,
                direction: entry.direction === "CREDIT" ? "DEBIT" : "CREDIT",
              }));
    for (const { accountId, direction } of sides) {
      const before = this.balances.get(accountId);
      if (before === undefined) throw new Error("The model does not know this account.");
      const after = direction === "CREDIT" ? before + action.amount : before - action.amount;
      this.balances.set(accountId, after);
      action.currency = this.currencyOf.get(accountId)!;
      action.entries.push({
        key: `${id}/${accountId}`,
        action,
        accountId,
        customerId: this.customerOf.get(accountId)!,
        direction,
        amount: action.amount,
        balanceBefore: before,
        balanceAfter: after,
      });
    }
    // A reversal changes the action it reverses, which moves it in the UPDATED_AT order.
    if (original) original.updatedAt = now;
    this.actions.push(action);
    return action;
  }

  entries(): ModelEntry[] {
    return this.actions.flatMap((action) => action.entries);
  }

  /**
   * Reads the entry order from the API's ID order, after checking that it is recording order: actions in the
   * order they were written, the two entries of a transfer next to each other.
   */
  async learnEntryOrder(customerIds: string[]): Promise<void> {
    const listed: string[] = [];
    for (const customerId of customerIds) {
      const keys = await historyKeys(this.api, customerId, "customer", {
        orderBy: { field: "ID", direction: "ASC" },
        first: 100,
      });
      listed.push(...keys);
    }
    const byKey = new Map(this.entries().map((entry) => [entry.key, entry]));
    const actionOrder = listed.map((key) => byKey.get(key)?.action.index);
    const expectedOrder = this.entries()
      .filter((entry) => customerIds.includes(entry.customerId))
      .map((entry) => entry.action.index);
    // Entries of different customers interleave in recording order, so compare per customer and overall sorted.
    for (const customerId of customerIds) {
      const ofCustomer = listed
        .filter((key) => byKey.get(key)?.customerId === customerId)
        .map((key) => byKey.get(key)!.action.index);
      expect(ofCustomer).toEqual([...ofCustomer].sort((a, b) => a - b));
    }
    expect([...actionOrder].sort((a, b) => a! - b!)).toEqual(expectedOrder);
    // The rank across customers: by action, then by the API's order within the action.
    const withinAction = new Map(listed.map((key, position) => [key, position]));
    const ranked = this.entries()
      .filter((entry) => withinAction.has(entry.key))
      .sort((a, b) => a.action.index - b.action.index || withinAction.get(a.key)! - withinAction.get(b.key)!);
    ranked.forEach((entry, position) => this.rank.set(entry.key, position));
  }

  /** The entries of an account's or a customer's history, filtered and ordered as the model says. */
  history(
    parent: { kind: "account" | "customer"; id: string },
    options: { where?: (entry: ModelEntry) => boolean; order?: { field: OrderField; direction: "ASC" | "DESC" } } = {},
  ): ModelEntry[] {
    const order = options.order ?? { field: "EFFECTIVE_AT", direction: "DESC" };
    const sign = order.direction === "ASC" ? 1 : -1;
    return this.entries()
      .filter((entry) => (parent.kind === "account" ? entry.accountId === parent.id : entry.customerId === parent.id))
      .filter(options.where ?? (() => true))
      .sort(
        (a, b) =>
          sign *
          (compare(sortValue(a, order.field, this.placeNames), sortValue(b, order.field, this.placeNames)) ||
            this.rankOf(a) - this.rankOf(b)),
      );
  }

  private rankOf(entry: ModelEntry): number {
    const rank = this.rank.get(entry.key);
    if (rank === undefined) throw new Error("learnEntryOrder must run before the model orders entries.");
    return rank;
  }
}

export type OrderField =
  | "EFFECTIVE_AT"
  | "CREATED_AT"
  | "UPDATED_AT"
  | "AMOUNT"
  | "TYPE"
  | "DIRECTION"
  | "NOTE"
  | "EXTERNAL_REFERENCE"
  | "INITIATOR_TYPE"
  | "CURRENCY"
  | "STORE_NAME"
  | "PARTNER_NAME"
  | "ID";

export const orderFields: OrderField[] = [
  "EFFECTIVE_AT",
  "CREATED_AT",
  "UPDATED_AT",
  "AMOUNT",
  "TYPE",
  "DIRECTION",
  "NOTE",
  "EXTERNAL_REFERENCE",
  "INITIATOR_TYPE",
  "CURRENCY",
  "STORE_NAME",
  "PARTNER_NAME",
  "ID",
];

function sortValue(
  entry: ModelEntry,
  field: OrderField,
  placeNames: ReadonlyMap<string, string>,
): number | bigint | string {
  const action = entry.action;
  switch (field) {
    case "EFFECTIVE_AT":
      return action.effectiveAt.getTime();
    case "CREATED_AT":
      return action.createdAt.getTime();
    case "UPDATED_AT":
      return action.updatedAt.getTime();
    case "AMOUNT":
      return entry.amount;
    case "TYPE":
      return action.type;
    case "DIRECTION":
      return entry.direction;
    case "NOTE":
      return fold(action.note ?? "");
    case "EXTERNAL_REFERENCE":
      return action.externalReference ?? "";
    case "INITIATOR_TYPE":
      return action.initiatorType;
    case "CURRENCY":
      return action.currency;
    // By the place's name; an action without one sorts as the empty string.
    case "STORE_NAME":
      return action.storeId === null ? "" : (placeNames.get(action.storeId) ?? "");
    case "PARTNER_NAME":
      return action.partnerId === null ? "" : (placeNames.get(action.partnerId) ?? "");
    case "ID":
      // Only the rank decides.
      return 0;
  }
}

/** Compares by value; text by code point (the notes here hold no characters outside the BMP). */
function compare(a: number | bigint | string, b: number | bigint | string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const historyQuery = (kind: "account" | "customer") => `
  query ($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $offset: Int, $page: Int,
         $orderBy: CreditHistoryOrder, $filter: CreditHistoryFilter) {
    node(id: $id) {
      ... on ${kind === "account" ? "CreditAccount" : "Customer"} {
        history(first: $first, after: $after, last: $last, before: $before, offset: $offset, page: $page,
                orderBy: $orderBy, filter: $filter) {
          totalCount
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          edges { ${edgeFields} }
        }
      }
    }
  }`;

export interface HistoryEdge {
  cursor: string;
  direction: Direction;
  directionName: string;
  amount: string;
  balanceBefore: string;
  balanceAfter: string;
  account: { id: string; name: string };
  node: any;
}

export interface HistoryConnection {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  edges: HistoryEdge[];
}

/** One page of a history through `node(id:)`; fails the test on any top-level error. */
export async function historyPage(
  api: ApiFixture,
  parentId: string,
  kind: "account" | "customer",
  args: Record<string, unknown> = {},
  options: { language?: string } = {},
): Promise<HistoryConnection> {
  const data = await api.data<{ node: { history: HistoryConnection } }>(
    historyQuery(kind),
    { id: parentId, ...args },
    options,
  );
  return data.node.history;
}

/** The raw response of a history request, for tests that expect top-level errors. */
export function historyRequest(
  api: ApiFixture,
  parentId: string,
  kind: "account" | "customer",
  args: Record<string, unknown>,
  options: { language?: string } = {},
) {
  return api.graphql<{ node: { history: HistoryConnection } | null }>(
    historyQuery(kind),
    { id: parentId, ...args },
    options,
  );
}

export function keyOf(edge: HistoryEdge): string {
  return `${edge.node.id}/${edge.account.id}`;
}

export async function historyKeys(
  api: ApiFixture,
  parentId: string,
  kind: "account" | "customer",
  args: Record<string, unknown> = {},
): Promise<string[]> {
  return (await historyPage(api, parentId, kind, args)).edges.map(keyOf);
}

export const keys = (entries: ModelEntry[]): string[] => entries.map((entry) => entry.key);

/** The global ID a Relay server gives an object: base64 of "Type:id". */
export function globalId(type: string, id: string): string {
  return Buffer.from(`${type}:${id}`, "utf8").toString("base64");
}

/** The database id inside a global ID (for building IDs of the right shape that name nothing). */
export function rawId(id: string): string {
  return Buffer.from(id, "base64").toString("utf8").split(":").slice(1).join(":");
}

export interface Dataset {
  model: HistoryModel;
  customer: string;
  other: string;
  accounts: { main: string; bonus: string; wallet: string; otherPoints: string };
  stores: { mustek: string; brno: string };
  partners: { alfa: string; beta: string };
  /** Actions by the step's name. */
  steps: Record<string, ModelAction>;
}

/**
 * The shared history: customer "cc-1001" with two PTS accounts and a CZK account, 25 actions at two stores
 * and through two partners, with notes full of %, _, quotes and Czech diacritics in mixed case, backdated
 * effective times (one in summer time), three actions at the same instant, initiators of every type,
 * external references, transfers both ways and one reversal. A second customer's actions must never appear
 * in the first one's history.
 */
export async function buildDataset(api: ApiFixture): Promise<Dataset> {
  const model = new HistoryModel(api);
  const customer = await api.createCustomer("cc-1001", { name: "Jana Nováková" });
  const other = await api.createCustomer("cc-2002", { name: "Petr Svoboda" });
  const main = await api.openAccount(customer, { currency: "PTS", name: "Hlavní body" });
  const bonus = await api.openAccount(customer, { currency: "PTS", name: "Bonusové body" });
  const wallet = await api.openAccount(customer, { currency: "CZK", name: "Peněženka" });
  const otherPoints = await api.openAccount(other, { currency: "PTS", name: "Body" });
  model.addAccount(main, customer, "PTS");
  model.addAccount(bonus, customer, "PTS");
  model.addAccount(wallet, customer, "CZK");
  model.addAccount(otherPoints, other, "PTS");
  const mustek = await api.createStore("Praha – Můstek", { externalId: "store-1" });
  const brno = await api.createStore("Brno", { externalId: "store-2" });
  const alfa = await api.createPartner("Partner Alfa", { externalId: "partner-1" });
  const beta = await api.createPartner("Partner Beta", { externalId: "partner-2" });
  model.placeNames.set(mustek, "Praha – Můstek");
  model.placeNames.set(brno, "Brno");
  model.placeNames.set(alfa, "Partner Alfa");
  model.placeNames.set(beta, "Partner Beta");

  const steps: Record<string, ModelAction> = {};
  const run = async (name: string, step: Step) => {
    steps[name] = await model.run(step);
  };
  const deposit = (input: Record<string, unknown>, effectiveInstant?: string): Step => ({
    type: "DEPOSIT",
    input,
    effectiveInstant,
  });
  const reduce = (input: Record<string, unknown>, effectiveInstant?: string): Step => ({
    type: "REDUCTION",
    input,
    effectiveInstant,
  });
  const transfer = (input: Record<string, unknown>, effectiveInstant?: string): Step => ({
    type: "TRANSFER",
    input,
    effectiveInstant,
  });

  await run(
    "welcome",
    deposit({ accountId: main, amount: "1000", storeId: mustek, partnerId: alfa, note: "Uvítací bonus 10 %" }),
  );
  await run(
    "bonusStart",
    deposit({
      accountId: bonus,
      amount: "500",
      storeId: brno,
      note: "bonus_2026",
      initiator: { type: "USER", id: "cashier-7" },
    }),
  );
  await run(
    "giftCard",
    deposit({
      accountId: wallet,
      amount: "25000",
      partnerId: beta,
      note: "Dárková karta O'Brien",
      externalReference: "invoice:in_1/line:il_1",
    }),
  );
  await run(
    "otherStart",
    deposit({ accountId: otherPoints, amount: "700", storeId: mustek, partnerId: beta, note: "Uvítací bonus 10 %" }),
  );
  // Recorded before the reductions backdated to February, which may spend only credits in effect by then.
  await run(
    "summer",
    deposit(
      { accountId: main, amount: "300", partnerId: alfa, note: "100% sleva", effectiveAt: "2025-07-01 09:00:00" },
      "2025-07-01T07:00:00Z",
    ),
  );
  await run(
    "horse1",
    reduce(
      {
        accountId: main,
        amount: "120",
        storeId: mustek,
        partnerId: beta,
        note: "ŽLUŤOUČKÝ kůň úpěl",
        effectiveAt: "2026-02-14 12:00:00",
      },
      "2026-02-14T11:00:00Z",
    ),
  );
  await run(
    "horse2",
    reduce(
      { accountId: main, amount: "80", storeId: brno, note: "žluťoučký KŮŇ", effectiveAt: "2026-02-14T11:00:00Z" },
      "2026-02-14T11:00:00Z",
    ),
  );
  await run(
    "toBonus",
    transfer({
      sourceAccountId: main,
      targetAccountId: bonus,
      amount: "200",
      storeId: mustek,
      note: "Převod na bonus",
      initiator: { type: "SYSTEM" },
    }),
  );
  await run("fifty", reduce({ accountId: bonus, amount: "50", storeId: brno, partnerId: beta, note: "50_50 akce" }));
  await run("plain", deposit({ accountId: main, amount: "10" }));
  await run(
    "receipt",
    reduce({
      accountId: wallet,
      amount: "5000",
      storeId: mustek,
      note: "Nákup – účtenka #42",
      externalReference: "invoice:in_2/line:il_9",
    }),
  );
  await run(
    "back",
    transfer({ sourceAccountId: bonus, targetAccountId: main, amount: "100", partnerId: beta, note: "zpět 'vráceno'" }),
  );
  await run(
    "boundary",
    deposit(
      { accountId: main, amount: "70", note: "Hranice", effectiveAt: "2026-02-20 00:00:00" },
      "2026-02-19T23:00:00Z",
    ),
  );
  await run("fine", reduce({ accountId: main, amount: "30", storeId: mustek, note: "it's fine" }));
  await run(
    "christmas",
    deposit(
      { accountId: bonus, amount: "45", note: "Štědrý den", effectiveAt: "2025-12-24 18:30:00" },
      "2025-12-24T17:30:00Z",
    ),
  );
  await run("symbols", reduce({ accountId: main, amount: "15", partnerId: alfa, note: "%_'" }));
  await run("topUp", deposit({ accountId: wallet, amount: "1000", storeId: brno, note: "dobití" }));
  await run(
    "coffee",
    reduce({
      accountId: bonus,
      amount: "20",
      storeId: mustek,
      partnerId: alfa,
      note: "káva",
      initiator: { type: "USER", id: "barista-1" },
    }),
  );
  await run(
    "change",
    deposit(
      { accountId: main, amount: "5", note: "DROBNÉ", effectiveAt: "2026-02-14T12:00:00+01:00" },
      "2026-02-14T11:00:00Z",
    ),
  );
  await run("lunch", reduce({ accountId: main, amount: "40", storeId: brno, partnerId: beta, note: "Oběd" }));
  await run(
    "gift",
    transfer({ sourceAccountId: main, targetAccountId: bonus, amount: "25", storeId: brno, note: "Dárek" }),
  );
  await run("sure", deposit({ accountId: bonus, amount: "60", partnerId: alfa, note: "100 % jistota" }));
  await run(
    "cinema",
    reduce({
      accountId: wallet,
      amount: "2500",
      partnerId: alfa,
      note: "Kino",
      externalReference: "invoice:in_3/line:il_1",
    }),
  );
  await run(
    "cafe",
    deposit(
      { accountId: main, amount: "33", storeId: mustek, note: "Café", effectiveAt: "2026-01-31 23:59:59" },
      "2026-01-31T22:59:59Z",
    ),
  );
  await run("last", reduce({ accountId: bonus, amount: "10", note: "poslední", initiator: { type: "SYSTEM" } }));
  await run(
    "otherSpend",
    reduce({ accountId: otherPoints, amount: "15", storeId: brno, partnerId: alfa, note: "%_'" }),
  );
  await run("storno", { type: "REVERSAL", input: { actionId: steps.fine!.id, note: "storno" } });

  await model.learnEntryOrder([customer, other]);
  return {
    model,
    customer,
    other,
    accounts: { main, bonus, wallet, otherPoints },
    stores: { mustek, brno },
    partners: { alfa, beta },
    steps,
  };
}
