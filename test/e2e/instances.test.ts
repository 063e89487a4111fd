// The gateway as it is deployed: two real server processes (`src/main.ts`) on one database, many concurrent
// HTTP clients moving credits with idempotency keys, and one instance restarted (SIGTERM, graceful) in the
// middle. Clients retry what failed with the same key, as they should. At the end every transfer happened
// exactly once, the total is unchanged, and the ledger verifies clean. On SQLite the two processes share the
// database file, which SQLite's locking serializes.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.ts";
import { createLedger, type Ledger } from "../../src/ledger/index.ts";
import { encodeId } from "../../src/schema/ids.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

const projectRoot = path.resolve(import.meta.dirname, "../..");
let testDatabase: TestDatabase;
let ledger: Ledger;
let tenantId: string;
let secret: string;
const accounts: string[] = [];
const running = new Set<ChildProcess>();

interface Instance {
  process: ChildProcess;
  url: string;
}

async function startInstance(): Promise<Instance> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: projectRoot,
    env: {
      ...process.env,
      DATABASE_URL: testDatabase.url,
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      GRAPHIQL: "false",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  child.on("exit", () => running.delete(child));
  let output = "";
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance did not start:\n${output}`)), 90_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /(http:\/\/\S+\/graphql)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`instance exited with ${code}:\n${output}`)));
  });
  return { process: child, url };
}

async function stopInstance(instance: Instance): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => instance.process.once("exit", (code) => resolve(code)));
  instance.process.kill("SIGTERM");
  return exited;
}

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  ledger = createLedger(testDatabase.database);
  const tenant = await ledger.createTenant({ name: "Instances", timeZone: "Europe/Prague" });
  if (!tenant.ok) throw new Error("tenant");
  tenantId = tenant.tenant.id;
  secret = (await createApiKey(testDatabase.database, { tenantId, name: "load", scopes: ["read", "write"] })).secret;
  const customer = await ledger.createCustomer(tenantId, { externalId: "load" });
  if (!customer.ok) throw new Error("customer");
  for (let index = 0; index < 4; index++) {
    const account = await ledger.openAccount(tenantId, {
      customerId: customer.customer.id,
      name: `a${index}`,
      currency: "PTS",
    });
    if (!account.ok) throw new Error("account");
    accounts.push(account.account.id);
    await ledger.deposit(tenantId, { accountId: account.account.id, amount: 1000n });
  }
});

afterAll(async () => {
  for (const child of running) child.kill("SIGKILL");
  await testDatabase?.drop();
});

const transferMutation = `mutation($input: TransferInput!) {
  transfer(input: $input) { replayed action { id } userErrors { code } }
}`;

describe("two gateway instances with a restart in between", () => {
  it("moves every transfer exactly once and conserves the total", { timeout: 300_000 }, async () => {
    let instances = [await startInstance(), await startInstance()];
    // 80 transfers of 1..9 around a ring of accounts, each with its own idempotency key.
    const transfers = Array.from({ length: 80 }, (_, index) => ({
      key: `transfer-${index}`,
      source: accounts[index % 4]!,
      target: accounts[(index + 1) % 4]!,
      amount: 1 + (index % 9),
    }));
    const send = async (transfer: (typeof transfers)[number], attempt: number): Promise<string> => {
      const instance = instances[(attempt + transfers.indexOf(transfer)) % instances.length]!;
      try {
        const response = await fetch(instance.url, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
          body: JSON.stringify({
            query: transferMutation,
            variables: {
              input: {
                sourceAccountId: encodeId("CreditAccount", transfer.source),
                targetAccountId: encodeId("CreditAccount", transfer.target),
                amount: String(transfer.amount),
                idempotencyKey: transfer.key,
              },
            },
          }),
        });
        const body = (await response.json()) as {
          data?: { transfer: { action: { id: string } | null; userErrors: { code: string }[] } };
        };
        const payload = body.data?.transfer;
        if (payload?.action) return payload.action.id;
        throw new Error(payload?.userErrors.map((error) => error.code).join(",") || `HTTP ${response.status}`);
      } catch (error) {
        // A refused connection (instance restarting) or LEDGER_BUSY: retry with the same key, elsewhere.
        if (attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
        return send(transfer, attempt + 1);
      }
    };

    const first = transfers.slice(0, 40).map((transfer) => send(transfer, 0));
    // Restart instance 0 while the first half is in flight: it finishes what it has, then stops.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await stopInstance(instances[0]!)).toBe(0);
    instances = [instances[1]!];
    const restarted = await startInstance();
    instances = [instances[0]!, restarted];
    const second = transfers.slice(40).map((transfer) => send(transfer, 0));
    const actionIds = await Promise.all([...first, ...second]);

    // Each transfer wrote exactly one action, even those retried after a restart.
    expect(new Set(actionIds).size).toBe(80);
    expect(await testDatabase.database.read.creditAction.count({ where: { tenantId, type: "TRANSFER" } })).toBe(80);
    const balances = await testDatabase.database.read.creditAccount.findMany({
      where: { tenantId },
      select: { balance: true },
    });
    expect(balances.reduce((sum, account) => sum + account.balance, 0n)).toBe(4000n);
    expect(await ledger.verify({ tenantId })).toEqual([]);
    for (const instance of instances) expect(await stopInstance(instance)).toBe(0);
  });
});
