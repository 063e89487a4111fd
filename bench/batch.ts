// Measures what an atomic batch of the maximum size (src/ledger/operations/batch.ts) costs: SQL statements
// and wall time per batch, against the same 100 items sent as 100 single writes, and a batch refused at its
// last item (which does all the work, then rolls it back).
//
// Usage: npm run bench:batch [-- --runs=15]
//   SQLite by default, in a temporary file that is deleted afterwards.
//   BENCH_DATABASE_URL=postgresql://user@host:port/postgres runs it on PostgreSQL instead: the URL names a
//   server where the bench may create a database of its own (dropped at the end), like TEST_POSTGRES_URL.
//
// The batch: 100 items over 10 accounts, in turn a deposit, a reduction, a transfer to the next account and a
// hold (25 of each), the mix the README's tour shows. Each case runs twice to warm up, then `runs` times; the
// median is printed with the fastest and slowest run. Statements are counted by the database client's query
// hook (BEGIN and COMMIT included), so they are exact, not sampled.
import { openDatabase } from "../src/db/client.ts";
import { migrateDatabase } from "../src/db/migrate.ts";
import { type BatchItem, createLedger, type LedgerResult, maxBatchItems } from "../src/ledger/index.ts";
import { createBenchDatabase, parseRuns } from "./history.ts";

const accountCount = 10;

function must<T>(result: LedgerResult<T>): { ok: true } & T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function main() {
  const runs = parseRuns(process.argv.slice(2));
  const bench = await createBenchDatabase();
  try {
    await migrateDatabase(bench.url);
    let statements = 0;
    const database = await openDatabase(bench.url, { onQuery: () => void statements++ });
    const ledger = createLedger(database);
    const tenantId = must(await ledger.createTenant({ name: "Bench tenant" })).tenant.id;
    const accounts: string[] = [];
    for (let index = 0; index < accountCount; index++) {
      const customerId = must(await ledger.createCustomer(tenantId, { externalId: `c${index}` })).customer.id;
      const accountId = must(await ledger.openAccount(tenantId, { customerId, currency: "PTS", name: "Points" }))
        .account.id;
      must(await ledger.deposit(tenantId, { accountId, amount: 1_000_000_000n }));
      accounts.push(accountId);
    }
    const items: BatchItem[] = Array.from({ length: maxBatchItems }, (_, index) => {
      const accountId = accounts[index % accountCount] as string;
      const next = accounts[(index + 1) % accountCount] as string;
      switch (index % 4) {
        case 0:
          return { deposit: { accountId, amount: 10n } };
        case 1:
          return { reduce: { accountId, amount: 5n } };
        case 2:
          return { transfer: { sourceAccountId: accountId, targetAccountId: next, amount: 7n } };
        default:
          return { authorizeHold: { accountId, amount: 1n } };
      }
    });
    // The same batch, with a last item that asks for more than any account has: refused after 99 items ran.
    const refusedItems: BatchItem[] = [
      ...items.slice(0, -1),
      { reduce: { accountId: accounts[0] as string, amount: 1_000_000_000_000n } },
    ];

    const cases: { name: string; run: () => Promise<void> }[] = [
      {
        name: `batch of ${maxBatchItems} items`,
        run: async () => void must(await ledger.applyBatch(tenantId, { items })),
      },
      {
        name: `${maxBatchItems} single writes, one after the other`,
        run: async () => {
          for (const item of items) {
            if ("deposit" in item) must(await ledger.deposit(tenantId, item.deposit));
            else if ("reduce" in item) must(await ledger.reduce(tenantId, item.reduce));
            else if ("transfer" in item) must(await ledger.transfer(tenantId, item.transfer));
            else if ("authorizeHold" in item) must(await ledger.authorize(tenantId, item.authorizeHold));
            else throw new Error("Bug: the bench's batch has only deposits, reductions, transfers and holds.");
          }
        },
      },
      {
        name: `batch of ${maxBatchItems} refused at its last item`,
        run: async () => {
          const result = await ledger.applyBatch(tenantId, { items: refusedItems });
          if (result.ok || result.itemErrors[0]?.index !== maxBatchItems - 1) throw new Error("not refused as planned");
        },
      },
    ];
    console.log(`${bench.label}, ${runs} runs per case (median, fastest-slowest)`);
    for (const benchCase of cases) {
      const times: number[] = [];
      const counts: number[] = [];
      for (let run = -2; run < runs; run++) {
        statements = 0;
        const startedAt = performance.now();
        await benchCase.run();
        if (run >= 0) {
          times.push(performance.now() - startedAt);
          counts.push(statements);
        }
      }
      console.log(
        `  ${benchCase.name}: ${median(times).toFixed(1)} ms (${Math.min(...times).toFixed(1)}-${Math.max(...times).toFixed(1)}), ` +
          `${median(counts)} statements (${Math.min(...counts)}-${Math.max(...counts)})`,
      );
    }
    const problems = await ledger.verify({ tenantId });
    if (problems.length > 0) throw new Error(`verify found ${problems.length} problems`);
    await database.close();
  } finally {
    await bench.drop();
  }
}

await main();
