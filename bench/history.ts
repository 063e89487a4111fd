// Times history page reads (src/ledger/history.ts) on a ledger with large histories, to show whether one
// page costs about the same on a large ledger as on a small one.
//
// Usage: npm run bench:history [-- --runs=15]
//   SQLite by default, in a temporary file that is deleted afterwards.
//   BENCH_DATABASE_URL=postgresql://user@host:port/postgres runs it on PostgreSQL instead: the URL names a
//   server where the bench may create a database of its own (dropped at the end), like TEST_POSTGRES_URL.
//
// The ledger: one large account (20,000 entries) and 50 customers with one account of 500 entries each.
// Writing 25,000 deposits through the ledger's operations would take minutes, so the deposits are written
// with bulk inserts (createMany) of exactly the rows a deposit writes: the action, its grant, the grant's
// CREDIT allocation and the entry, chained per account as the ledger chains them. A few reductions then go
// through the ledger's own operations on top of them, and `verify` must find the tenant's ledger clean
// before anything is timed, which proves the bulk rows are what the ledger itself would have written.
//
// Each case is timed `runs` times after two warm-up reads, and the median is printed (with the fastest and
// slowest run). No ANALYZE is run on SQLite, because the gateway never runs one: the planner sees what it
// sees in production. PostgreSQL is analyzed after loading, as autovacuum would do on a live server.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { type Database, openDatabase } from "../src/db/client.ts";
import { migrateDatabase } from "../src/db/migrate.ts";
import type { Prisma } from "../src/generated/postgres/client.ts";
import {
  type HistoryFilter,
  type HistoryOrder,
  type HistoryPageRequest,
  type HistoryParent,
  readHistories,
} from "../src/ledger/history.ts";
import { createLedger, type LedgerResult } from "../src/ledger/index.ts";
import { foldForSearch } from "../src/ledger/validation.ts";

const largeAccountEntries = 20_000;
const customerCount = 50;
const customerEntries = 500;
const pageSize = 20;
const insertChunk = 1_000;
const minute = 60_000;
const day = 24 * 60 * minute;

export function parseRuns(argv: string[], fallback = 15): number {
  const flag = argv.find((argument) => argument.startsWith("--runs="));
  const runs = flag ? Number(flag.slice("--runs=".length)) : fallback;
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be a whole number of 1 or more");
  return runs;
}

// ---------------------------------------------------------------------------------------------------------
// A database of the bench's own

export interface BenchDatabase {
  url: string;
  label: string;
  drop(): Promise<void>;
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  const serverUrl = process.env.BENCH_DATABASE_URL;
  if (serverUrl) {
    const name = `ledger_bench_${randomBytes(5).toString("hex")}`;
    const admin = async (sql: string) => {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    };
    await admin(`CREATE DATABASE "${name}"`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      label: "PostgreSQL",
      drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
    };
  }
  const directory = await mkdtemp(path.join(tmpdir(), "ledger-bench-"));
  return {
    url: `file:${path.join(directory, "ledger.db")}`,
    label: "SQLite",
    drop: () => rm(directory, { recursive: true, force: true }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The ledger

/** A UUIDv7 for `time`, as the ledger's ids are: time-ordered, so ids also follow recording order. */
function uuidv7(time: number): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(time, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A small deterministic generator, so that every run (and every engine) gets the same ledger. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function must<T>(result: LedgerResult<T>): { ok: true } & T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result;
}

export interface Ledger {
  tenantId: string;
  largeAccount: string;
  customers: string[];
  /** The store of most entries (about 60%). */
  mainStore: string;
  /** A store on about one entry in a hundred: a store filter that a scan of the account would find slowly. */
  rareStore: string;
}

export async function buildLedger(database: Database): Promise<Ledger> {
  const ledger = createLedger(database);
  const tenantId = must(await ledger.createTenant({ name: "Bench tenant" })).tenant.id;
  const mainStore = must(await ledger.createStore(tenantId, { name: "Main street" })).store.id;
  const outlet = must(await ledger.createStore(tenantId, { name: "Outlet" })).store.id;
  const rareStore = must(await ledger.createStore(tenantId, { name: "Pop-up" })).store.id;
  const partner = must(await ledger.createPartner(tenantId, { name: "Airline" })).partner.id;

  const openAccount = async (externalId: string) => {
    const customerId = must(await ledger.createCustomer(tenantId, { externalId })).customer.id;
    const accountId = must(await ledger.openAccount(tenantId, { customerId, name: "Points", currency: "PTS" })).account
      .id;
    return { customerId, accountId };
  };
  const large = await openAccount("large");
  const small = [];
  for (let index = 0; index < customerCount; index++) small.push(await openAccount(`customer-${index}`));

  // Recorded over the last few weeks, one deposit a minute per account; effective up to three days earlier,
  // so that the effective order differs from the recording order, as with backdated point-of-sale data.
  const next = random(7);
  const storeOf = () => {
    const draw = next();
    return draw < 0.01 ? rareStore : draw < 0.6 ? mainStore : draw < 0.85 ? outlet : null;
  };
  const start = Date.now() - 30 * day;
  const actions: Prisma.CreditActionCreateManyInput[] = [];
  const grants: Prisma.CreditGrantCreateManyInput[] = [];
  const allocations: Prisma.CreditAllocationCreateManyInput[] = [];
  const entries: Prisma.CreditEntryCreateManyInput[] = [];
  const balances: { accountId: string; balance: bigint; count: number }[] = [];
  for (const [account, count] of [
    [large, largeAccountEntries] as const,
    ...small.map((owner) => [owner, customerEntries] as const),
  ]) {
    let balance = 0n;
    for (let sequence = 1; sequence <= count; sequence++) {
      const createdAt = new Date(start + Math.floor((sequence * largeAccountEntries * minute) / count));
      const effectiveAt = next() < 0.3 ? new Date(createdAt.getTime() - Math.floor(next() * 3 * day)) : createdAt;
      const amount = BigInt(1 + Math.floor(next() * 500));
      const storeId = storeOf();
      const partnerId = next() < 0.15 ? partner : null;
      const note = next() < 0.5 ? `Purchase ${sequence}` : null;
      const actionId = uuidv7(createdAt.getTime());
      const grantId = uuidv7(createdAt.getTime());
      actions.push({
        id: actionId,
        tenantId,
        type: "DEPOSIT",
        amount,
        currency: "PTS",
        sourceAccountId: null,
        targetAccountId: account.accountId,
        storeId,
        partnerId,
        initiatorType: "SYSTEM",
        note,
        noteSearch: note === null ? null : foldForSearch(note),
        effectiveAt,
        createdAt,
        updatedAt: createdAt,
      });
      grants.push({
        id: grantId,
        tenantId,
        accountId: account.accountId,
        category: "PAID",
        priority: 50,
        originalAmount: amount,
        remainingAmount: amount,
        effectiveAt,
        createdByActionId: actionId,
        createdAt,
        updatedAt: createdAt,
      });
      allocations.push({ actionId, grantId, direction: "CREDIT", amount });
      entries.push({
        id: uuidv7(createdAt.getTime()),
        tenantId,
        actionId,
        accountId: account.accountId,
        customerId: account.customerId,
        sequence,
        direction: "CREDIT",
        amount,
        balanceBefore: balance,
        balanceAfter: balance + amount,
        type: "DEPOSIT",
        currency: "PTS",
        storeId,
        partnerId,
        initiatorType: "SYSTEM",
        effectiveAt,
        createdAt,
      });
      balance += amount;
    }
    balances.push({ accountId: account.accountId, balance, count });
  }
  // One transaction: committing every statement on its own costs SQLite a sync to disk each. Chunks keep
  // each statement well below SQLite's limit of bound values.
  await database.write.$transaction(
    async (tx) => {
      for (let offset = 0; offset < actions.length; offset += insertChunk) {
        await tx.creditAction.createMany({ data: actions.slice(offset, offset + insertChunk) });
        await tx.creditGrant.createMany({ data: grants.slice(offset, offset + insertChunk) });
        await tx.creditAllocation.createMany({ data: allocations.slice(offset, offset + insertChunk) });
        await tx.creditEntry.createMany({ data: entries.slice(offset, offset + insertChunk) });
      }
      for (const { accountId, balance, count } of balances) {
        await tx.creditAccount.update({ where: { id: accountId }, data: { balance, entryCount: count } });
      }
    },
    { timeout: 10 * 60_000, maxWait: 60_000 },
  );

  // Real operations on top: the ledger must accept the bulk rows as its own and keep its invariants.
  for (let index = 0; index < 10; index++) {
    must(
      await ledger.reduce(tenantId, {
        accountId: large.accountId,
        amount: 700n,
        storeId: index % 2 === 0 ? rareStore : mainStore,
      }),
    );
  }
  const problems = await ledger.verify({ tenantId });
  if (problems.length > 0) throw new Error(`The bench ledger does not verify: ${JSON.stringify(problems.slice(0, 5))}`);

  if (database.engine === "postgres") await database.write.$executeRawUnsafe("ANALYZE");
  return {
    tenantId,
    largeAccount: large.accountId,
    customers: small.map((owner) => owner.customerId),
    mainStore,
    rareStore,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Timing

export interface Case {
  name: string;
  parents: HistoryParent[];
  filter: HistoryFilter;
  page: HistoryPageRequest;
  /** Entries each parent's page must hold, so that a fast but wrong answer cannot pass. */
  expect: number;
}

export const order: HistoryOrder = { field: "EFFECTIVE_AT", direction: "DESC" };

export async function cases(database: Database, ledger: Ledger): Promise<Case[]> {
  const large: HistoryParent[] = [{ kind: "account", id: ledger.largeAccount }];
  // The cursor of the 21st entry from the end: the page after it is the account's last page.
  const tail = (await readHistories(database, ledger.tenantId, large, {}, order, { last: pageSize + 1 })).get(
    ledger.largeAccount,
  )!;
  return [
    { name: "large account, first 20", parents: large, filter: {}, page: { first: pageSize }, expect: pageSize },
    {
      name: "large account, main store filter (60%)",
      parents: large,
      filter: { storeIds: [ledger.mainStore] },
      page: { first: pageSize },
      expect: pageSize,
    },
    {
      name: "large account, rare store filter (1%)",
      parents: large,
      filter: { storeIds: [ledger.rareStore] },
      page: { first: pageSize },
      expect: pageSize,
    },
    {
      name: "large account, last page by cursor",
      parents: large,
      filter: {},
      page: { first: pageSize, after: tail.startCursor! },
      expect: pageSize,
    },
    { name: "large account, last 20", parents: large, filter: {}, page: { last: pageSize }, expect: pageSize },
    {
      name: "large account, offset 10,000",
      parents: large,
      filter: {},
      page: { first: pageSize, offset: 10_000 },
      expect: pageSize,
    },
    {
      name: "50 customers at once, first 20 each",
      parents: ledger.customers.map((id) => ({ kind: "customer" as const, id })),
      filter: {},
      page: { first: pageSize },
      expect: pageSize,
    },
  ];
}

async function timeCase(database: Database, tenantId: string, benchCase: Case, runs: number): Promise<number[]> {
  const read = async () => {
    const pages = await readHistories(database, tenantId, benchCase.parents, benchCase.filter, order, benchCase.page);
    for (const parent of benchCase.parents) {
      const length = pages.get(parent.id)?.entries.length;
      if (length !== benchCase.expect)
        throw new Error(`${benchCase.name}: expected ${benchCase.expect} entries, got ${length}`);
    }
  };
  for (let warmUp = 0; warmUp < 2; warmUp++) await read();
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = process.hrtime.bigint();
    await read();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const runs = parseRuns(process.argv.slice(2));
  const bench = await createBenchDatabase();
  let database: Database | undefined;
  try {
    await migrateDatabase(bench.url);
    database = await openDatabase(bench.url);
    const loadStarted = Date.now();
    const ledger = await buildLedger(database);
    console.log(
      `${bench.label}: ${largeAccountEntries} entries on one account, ${customerCount} customers with ${customerEntries} each; ` +
        `built and verified in ${((Date.now() - loadStarted) / 1000).toFixed(1)} s. Median of ${runs} runs, order EFFECTIVE_AT DESC.`,
    );
    const rows: string[][] = [["case", "median ms", "min ms", "max ms"]];
    for (const benchCase of await cases(database, ledger)) {
      const times = await timeCase(database, ledger.tenantId, benchCase, runs);
      const median = times[Math.floor(times.length / 2)]!;
      rows.push([benchCase.name, median.toFixed(2), times[0]!.toFixed(2), times.at(-1)!.toFixed(2)]);
    }
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
    for (const row of rows) {
      console.log(
        row
          .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
          .join("  "),
      );
    }
  } finally {
    await database?.close();
    await bench.drop();
  }
}

// Run when started as a script; other tools may import the ledger builder and the cases (say, to look at
// query plans) without running the timings.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
