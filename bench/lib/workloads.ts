// The six workloads, each as one GraphQL request per server (the gateway's Relay API and PostGraphile's
// generated API over the same rows), how to pick its random arguments, how to tell an answer with errors,
// and, for the reads, how to reduce an answer to the underlying values so both servers' answers can be
// compared (the gateway uses edges/node and global IDs, the peer nodes/rowId).
import type pg from "pg";

export type ServerName = "gateway" | "peer";

/** Rows the random arguments are drawn from, read once from the database before the rounds. */
export interface Pools {
  customers: { id: string }[];
  accounts: { id: string; currency: string }[];
  /** Accounts holding at least 1,000, by currency: transfer sources that cannot run dry. */
  richByCurrency: Map<string, string[]>;
  byCurrency: Map<string, string[]>;
  stores: string[];
  hot: string[];
}

export interface Workload {
  id: string;
  title: string;
  connections: number[];
  write: boolean;
  /** The request body (JSON) for one request. `unique` is a fresh string per request (idempotency keys). */
  body(server: ServerName, random: () => number, unique: string): string;
  /** The values an answer carries, for the equality check of the reads. */
  normalize?(server: ServerName, data: unknown): unknown;
}

const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString("base64");
const pick = <T>(list: readonly T[], random: () => number): T => list[Math.floor(random() * list.length)] as T;
const request = (query: string, variables: Record<string, unknown> = {}) => JSON.stringify({ query, variables });
/** Both servers' times as epoch milliseconds: the gateway answers with an offset, the peer without (UTC). */
const ms = (value: unknown) =>
  typeof value === "string" ? Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(value) ? value : `${value}Z`) : null;

// Deliberately loose typing for walking JSON answers.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export async function loadPools(client: pg.Client, hot: string[]): Promise<Pools> {
  const customers = (await client.query<{ id: string }>("SELECT id FROM customer ORDER BY id")).rows;
  const accounts = (
    await client.query<{ id: string; currency: string; balance: string }>(
      "SELECT id, currency, balance::text FROM credit_account WHERE status = 'OPEN' ORDER BY id",
    )
  ).rows;
  const stores = (await client.query<{ id: string }>("SELECT id FROM store ORDER BY id")).rows.map((row) => row.id);
  const byCurrency = new Map<string, string[]>();
  const richByCurrency = new Map<string, string[]>();
  const add = (map: Map<string, string[]>, key: string, id: string) => {
    const list = map.get(key);
    if (list) list.push(id);
    else map.set(key, [id]);
  };
  const hotSet = new Set(hot);
  for (const account of accounts) {
    add(byCurrency, account.currency, account.id);
    if (BigInt(account.balance) >= 1000n && !hotSet.has(account.id)) add(richByCurrency, account.currency, account.id);
  }
  for (const [currency, list] of [...richByCurrency])
    if ((byCurrency.get(currency)?.length ?? 0) < 2 || list.length === 0) richByCurrency.delete(currency);
  if (richByCurrency.size === 0) throw new Error("the ledger has no account with 1,000 credits to transfer from");
  return { customers, accounts, richByCurrency, byCurrency, stores, hot };
}

export function workloads(pools: Pools): Workload[] {
  const entryValues = (node: Json, store: Json) => ({
    amount: node.amount,
    type: node.type,
    effectiveAt: ms(node.effectiveAt),
    store: store?.name ?? null,
  });
  const randomTransfer = (random: () => number, hotOnly: boolean) => {
    if (hotOnly) {
      const source = pick(pools.hot, random);
      let target = pick(pools.hot, random);
      if (target === source) target = pools.hot[(pools.hot.indexOf(source) + 1) % pools.hot.length] as string;
      return { source, target, amount: 1 + Math.floor(random() * 5) };
    }
    const currency = pick([...pools.richByCurrency.keys()], random);
    const source = pick(pools.richByCurrency.get(currency) as string[], random);
    const all = pools.byCurrency.get(currency) as string[];
    let target = pick(all, random);
    if (target === source) target = all[(all.indexOf(source) + 1) % all.length] as string;
    return { source, target, amount: 1 + Math.floor(random() * 5) };
  };
  const transferBody = (server: ServerName, random: () => number, unique: string, hot: boolean) => {
    const { source, target, amount } = randomTransfer(random, hot);
    return server === "gateway"
      ? request(
          "mutation Transfer($input: TransferInput!) { transfer(input: $input) { action { id amount } accounts { id balance } userErrors { code message } } }",
          {
            input: {
              sourceAccountId: globalId("CreditAccount", source),
              targetAccountId: globalId("CreditAccount", target),
              amount: String(amount),
              idempotencyKey: unique,
            },
          },
        )
      : request(
          "mutation Transfer($source: String!, $target: String!, $amount: BigInt!) { benchTransfer(input: { sourceId: $source, targetId: $target, amount: $amount }) { result { rowId amount } } }",
          { source, target, amount: String(amount) },
        );
  };

  return [
    {
      id: "nested",
      title: "nested read: 10 customers → accounts → 10 latest entries → store",
      connections: [8, 32],
      write: false,
      body: (server) =>
        server === "gateway"
          ? request(
              "query Nested { customers(first: 10) { edges { node { externalId accounts { name currency history(first: 10) { edges { node { amount type effectiveAt store { name } } } } } } } } }",
            )
          : request(
              "query Nested { customers(first: 10, orderBy: [CREATED_AT_ASC, ROW_ID_ASC]) { nodes { externalId creditAccounts(orderBy: [CREATED_AT_ASC, ROW_ID_ASC]) { nodes { name currency creditEntriesByAccountId(first: 10, orderBy: [EFFECTIVE_AT_DESC, ROW_ID_DESC]) { nodes { amount type effectiveAt action { store { name } } } } } } } } }",
            ),
      normalize: (server, data: Json) =>
        server === "gateway"
          ? data.customers.edges.map(({ node: c }: Json) => ({
              externalId: c.externalId,
              accounts: c.accounts.map((a: Json) => ({
                name: a.name,
                currency: a.currency,
                entries: a.history.edges.map(({ node }: Json) => entryValues(node, node.store)),
              })),
            }))
          : data.customers.nodes.map((c: Json) => ({
              externalId: c.externalId,
              accounts: c.creditAccounts.nodes.map((a: Json) => ({
                name: a.name,
                currency: a.currency,
                entries: a.creditEntriesByAccountId.nodes.map((node: Json) => entryValues(node, node.action.store)),
              })),
            })),
    },
    {
      id: "page",
      title: "account page: one account's 20 latest entries",
      connections: [8, 32],
      write: false,
      body: (server, random) => {
        const account = pick(pools.accounts, random).id;
        return server === "gateway"
          ? request(
              "query Page($id: ID!) { node(id: $id) { ... on CreditAccount { history(first: 20) { edges { balanceBefore balanceAfter node { amount type effectiveAt createdAt store { name } } } } } } }",
              { id: globalId("CreditAccount", account) },
            )
          : request(
              "query Page($id: String!) { creditAccount(rowId: $id) { creditEntriesByAccountId(first: 20, orderBy: [EFFECTIVE_AT_DESC, ROW_ID_DESC]) { nodes { balanceBefore balanceAfter amount type effectiveAt createdAt action { store { name } } } } } }",
              { id: account },
            );
      },
      normalize: (server, data: Json) =>
        server === "gateway"
          ? data.node.history.edges.map((edge: Json) => ({
              ...entryValues(edge.node, edge.node.store),
              createdAt: ms(edge.node.createdAt),
              balanceBefore: edge.balanceBefore,
              balanceAfter: edge.balanceAfter,
            }))
          : data.creditAccount.creditEntriesByAccountId.nodes.map((node: Json) => ({
              ...entryValues(node, node.action.store),
              createdAt: ms(node.createdAt),
              balanceBefore: node.balanceBefore,
              balanceAfter: node.balanceAfter,
            })),
    },
    {
      id: "count",
      title: "filtered count: one customer's history count at one store",
      connections: [8, 32],
      write: false,
      body: (server, random) => {
        const customer = pick(pools.customers, random).id;
        const store = pick(pools.stores, random);
        return server === "gateway"
          ? request(
              "query Count($id: ID!, $store: ID!) { customer(id: $id) { history(filter: { stores: [$store] }) { totalCount } } }",
              {
                id: globalId("Customer", customer),
                store: globalId("Store", store),
              },
            )
          : request(
              "query Count($id: String!, $store: String!) { customer(rowId: $id) { creditEntries(condition: { storeId: $store }) { totalCount } } }",
              {
                id: customer,
                store,
              },
            );
      },
      normalize: (server, data: Json) =>
        server === "gateway" ? data.customer.history.totalCount : data.customer.creditEntries.totalCount,
    },
    {
      id: "deposit",
      title: "deposit into a random account",
      connections: [8, 32],
      write: true,
      body: (server, random, unique) => {
        const account = pick(pools.accounts, random).id;
        const amount = String(1 + Math.floor(random() * 1000));
        return server === "gateway"
          ? request(
              "mutation Deposit($input: DepositInput!) { deposit(input: $input) { action { id amount } accounts { id balance } userErrors { code message } } }",
              { input: { accountId: globalId("CreditAccount", account), amount, idempotencyKey: unique } },
            )
          : request(
              "mutation Deposit($account: String!, $amount: BigInt!) { benchDeposit(input: { accountId: $account, amount: $amount }) { result { rowId amount } } }",
              {
                account,
                amount,
              },
            );
      },
    },
    {
      id: "transfer",
      title: "transfer between random accounts of one currency",
      connections: [8, 32],
      write: true,
      body: (server, random, unique) => transferBody(server, random, unique, false),
    },
    {
      id: "hot",
      title: "transfer among 8 hot accounts",
      connections: [32],
      write: true,
      body: (server, random, unique) => transferBody(server, random, unique, true),
    },
  ];
}

/** Whether an answer counts as an error: a GraphQL error, or (gateway mutations) a non-empty userErrors. */
export function answerHasErrors(body: string): boolean {
  return body.includes('"errors"') || (body.includes('"userErrors"') && !body.includes('"userErrors":[]'));
}
