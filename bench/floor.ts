// Where a read's CPU goes: the floor of the server stack (graphql-yoga, the executor and Pothos answering
// from memory), the ledger's reading alone, and the gateway's whole request, on the same data. It answers
// what the side-by-side bench (run.ts) cannot: which part of the gateway's CPU per request any change to the
// ledger could remove, and which part the GraphQL stack costs whatever the ledger does.
//
// Usage: npm run bench:floor [-- --runs=5]
//   SQLite by default; BENCH_DATABASE_URL=postgresql://user@host:port/postgres runs the cases that read the
//   database on PostgreSQL instead (see bench/history.ts). To compare with run.ts's figures, run it on the
//   bench's Node (`BENCH_DATABASE_URL=... bench/node_modules/.bin/node --import tsx bench/floor.ts`).
//
// Five cases, each in this process (requests through `fetch`: no HTTP parsing, no sockets, so these are lower
// bounds of what a request costs a server):
//   - bare stack, trivial: graphql-yoga with no plugins over a small Pothos schema, `{ __typename }`;
//   - bare stack, nested shape: the same server answering the side-by-side bench's nested read (10 customers,
//     3 accounts each, 10 history entries each with their action's amount, type, time and store: about
//     2,400 fields) from objects already in memory, with Pothos's Relay connections as the gateway has them;
//   - gateway, trivial: the real gateway (src/server/yoga.ts, every guard and observer on, as `npm start`
//     configures it) answering `{ __typename }` to an authenticated key;
//   - ledger, nested read's pages: the ledger alone (no GraphQL) reading the history pages that the nested
//     read shows, 10 entries of each of 30 accounts, with one `readHistories` call as the history loader does;
//   - gateway, nested read: the real gateway answering the nested read over those same 30 accounts.
// The database is a temporary one with 10 customers of 3 accounts, each account with 12 deposits at one of 8
// stores. Each case is warmed up, then sends `requests` requests at 8 at a time, `runs` times; the median CPU
// time of this process per request is printed with the fastest and slowest run.
import SchemaBuilder from "@pothos/core";
import RelayPlugin from "@pothos/plugin-relay";
import { createYoga } from "graphql-yoga";
import { createApiKey } from "../src/auth/api-keys.ts";
import { openDatabase } from "../src/db/client.ts";
import { migrateDatabase } from "../src/db/migrate.ts";
import { type HistoryParent, readHistories } from "../src/ledger/history.ts";
import { createLedger, type LedgerResult } from "../src/ledger/index.ts";
import { createGateway } from "../src/server/yoga.ts";
import { createBenchDatabase, parseRuns } from "./history.ts";

type Fetch = (request: Request) => Response | Promise<Response>;

const concurrency = 8;

function must<T>(result: LedgerResult<T>): { ok: true } & T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result;
}

/** CPU milliseconds of this process per call, for `requests` calls made `concurrency` at a time. */
async function cpuPerCall(call: () => Promise<unknown>, requests: number) {
  let sent = 0;
  const started = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < requests) {
        sent++;
        await call();
      }
    }),
  );
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000 / requests;
}

/**
 * A GraphQL request that must answer 200 without errors, with at least `amounts` amounts in its data (the
 * nested read's 300), so that an empty answer is never measured as a fast one.
 */
function graphql(fetch: Fetch, body: string, headers: Record<string, string> = {}, amounts = 0) {
  return async () => {
    const response = await fetch(
      new Request("http://bench/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      }),
    );
    const text = await response.text();
    if (response.status !== 200 || text.includes('"errors"') || text.split('"amount"').length - 1 < amounts)
      throw new Error(`Unexpected answer: ${text.slice(0, 500)}`);
  };
}

async function measure(label: string, call: () => Promise<unknown>, requests: number, runs: number) {
  await cpuPerCall(call, requests);
  const figures: number[] = [];
  for (let run = 0; run < runs; run++) figures.push(await cpuPerCall(call, requests));
  figures.sort((a, b) => a - b);
  const median = figures[Math.floor(figures.length / 2)] as number;
  console.log(
    `${label.padEnd(32)} ${median.toFixed(3)} ms CPU per request (${(figures[0] as number).toFixed(3)}–${(figures[figures.length - 1] as number).toFixed(3)})`,
  );
}

/** A Pothos schema of the nested read's shape, answered from memory. */
function bareServer() {
  interface Store {
    name: string;
  }
  interface Action {
    amount: bigint;
    type: string;
    effectiveAt: Date;
    store: Store;
  }
  interface Account {
    name: string;
    currency: string;
    actions: Action[];
  }
  interface Customer {
    externalId: string;
    accounts: Account[];
  }
  const builder = new SchemaBuilder<{
    Scalars: { DateTime: { Input: Date; Output: Date }; Amount: { Input: bigint; Output: bigint } };
  }>({ plugins: [RelayPlugin], relay: {} });
  builder.scalarType("DateTime", { serialize: (date) => date.toISOString(), parseValue: (v) => new Date(String(v)) });
  builder.scalarType("Amount", { serialize: (amount) => String(amount), parseValue: (v) => BigInt(String(v)) });
  const StoreRef = builder.objectRef<Store>("Store").implement({ fields: (t) => ({ name: t.exposeString("name") }) });
  const ActionRef = builder.objectRef<Action>("CreditAction").implement({
    fields: (t) => ({
      amount: t.expose("amount", { type: "Amount" }),
      type: t.exposeString("type"),
      effectiveAt: t.expose("effectiveAt", { type: "DateTime" }),
      store: t.field({ type: StoreRef, resolve: (action) => action.store }),
    }),
  });
  const page = <T>(items: T[], first: number | null | undefined) => ({
    edges: items.slice(0, first ?? 10).map((node, index) => ({ node, cursor: String(index) })),
    pageInfo: { hasNextPage: items.length > (first ?? 10), hasPreviousPage: false, startCursor: "0", endCursor: "" },
  });
  const AccountRef = builder.objectRef<Account>("CreditAccount").implement({
    fields: (t) => ({
      name: t.exposeString("name"),
      currency: t.exposeString("currency"),
      history: t.connection({ type: ActionRef, resolve: async (account, args) => page(account.actions, args.first) }),
    }),
  });
  const CustomerRef = builder.objectRef<Customer>("Customer").implement({
    fields: (t) => ({
      externalId: t.exposeString("externalId"),
      accounts: t.field({ type: [AccountRef], resolve: async (customer) => customer.accounts }),
    }),
  });
  const customers: Customer[] = Array.from({ length: 10 }, (_, c) => ({
    externalId: `C-${c}`,
    accounts: Array.from({ length: 3 }, (_, a) => ({
      name: `Account ${a}`,
      currency: "PTS",
      actions: Array.from({ length: 10 }, (_, i) => ({
        amount: BigInt(100 * (i + 1)),
        type: "DEPOSIT",
        effectiveAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
        store: { name: `Store ${i}` },
      })),
    })),
  }));
  builder.queryType({
    fields: (t) => ({
      customers: t.connection({ type: CustomerRef, resolve: async (_root, args) => page(customers, args.first) }),
    }),
  });
  return createYoga({ schema: builder.toSchema(), logging: false, landingPage: false });
}

async function main() {
  console.log(`Node ${process.version}; database: ${process.env.BENCH_DATABASE_URL ? "PostgreSQL" : "SQLite"}`);
  const runs = parseRuns(process.argv.slice(2), 5);
  const trivial = JSON.stringify({ query: "query Trivial { __typename }" });
  const nested = JSON.stringify({
    query:
      "query Nested { customers(first: 10) { edges { node { externalId accounts { name currency history(first: 10) { edges { node { amount type effectiveAt store { name } } } } } } } } }",
  });
  const bare = bareServer();
  await measure("bare stack, trivial", graphql(bare.fetch, trivial), 5_000, runs);
  await measure("bare stack, nested shape", graphql(bare.fetch, nested, {}, 300), 500, runs);

  const bench = await createBenchDatabase();
  try {
    await migrateDatabase(bench.url);
    const database = await openDatabase(bench.url);
    try {
      const ledger = createLedger(database);
      const tenantId = must(await ledger.createTenant({ name: "Bench tenant" })).tenant.id;
      const stores: string[] = [];
      for (let index = 0; index < 8; index++)
        stores.push(must(await ledger.createStore(tenantId, { name: `Store ${index}` })).store.id);
      const accounts: HistoryParent[] = [];
      for (let c = 0; c < 10; c++) {
        const customerId = must(await ledger.createCustomer(tenantId, { externalId: `C-${c}` })).customer.id;
        for (let a = 0; a < 3; a++) {
          const accountId = must(
            await ledger.openAccount(tenantId, { customerId, currency: "PTS", name: `Account ${a}` }),
          ).account.id;
          accounts.push({ kind: "account", id: accountId });
          for (let d = 0; d < 12; d++)
            must(
              await ledger.deposit(tenantId, { accountId, amount: BigInt(100 + d), storeId: stores[d % 8] ?? null }),
            );
        }
      }
      const { secret } = await createApiKey(database, { tenantId, name: "bench", scopes: ["read"] });
      const gateway = createGateway({
        database,
        ledger,
        config: { graphiql: false, logLevel: "warn", rateLimitRequests: 0, maxInFlightRequests: 1_000 },
      });
      const authorized = { authorization: `Bearer ${secret}` };
      await measure(`gateway, trivial`, graphql(gateway.fetch, trivial, authorized), 5_000, runs);
      await measure(
        "ledger, nested read's pages",
        () => readHistories(database, tenantId, accounts, {}, undefined, { first: 10 }),
        300,
        runs,
      );
      await measure("gateway, nested read", graphql(gateway.fetch, nested, authorized, 300), 300, runs);
      await gateway.dispose();
    } finally {
      await database.close();
    }
  } finally {
    await bench.drop();
  }
}

await main();
