// The first `npm start` on an empty database, on both engines: the server creates the demo tenant, prints a
// development key once, and that key reads and writes the demo data over HTTP. A second start on the same
// database creates nothing and prints no key. Demo data is made on the embedded SQLite database by default,
// on PostgreSQL (production) only when DEMO_DATA=true asks for it.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, testEngine, type TestDatabase } from "../support/database.ts";

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

let testDatabase: TestDatabase;
const running = new Set<ChildProcess>();

beforeAll(async () => {
  testDatabase = await createTestDatabase();
});

afterAll(async () => {
  for (const child of running) child.kill("SIGKILL");
  await testDatabase?.drop();
});

interface Started {
  output: string;
  url: string;
  stop(): Promise<number | null>;
}

/** Starts the server as `npm start` does and waits until it says it is ready. */
function start(env: Record<string, string> = {}, database: TestDatabase = testDatabase): Promise<Started> {
  // PostgreSQL makes no demo data unless asked: these tests ask, the ones below check that it is not made.
  const demoData = testEngine === "postgres" ? { DEMO_DATA: "true" } : {};
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: projectRoot,
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "error",
      ...demoData,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let output = "";
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`The server did not start:\n${output}`)), 60_000);
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      const ready = /Gateway ready: .*? (http:\/\/\S+)/.exec(output);
      if (ready) {
        clearTimeout(timer);
        resolve({
          output,
          url: (ready[1] as string).replace("localhost", "127.0.0.1"),
          stop: () => {
            child.kill("SIGTERM");
            return exited;
          },
        });
      }
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`The server exited with ${code} before it was ready:\n${output}`));
    });
  });
}

async function query(url: string, key: string, body: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: body, variables }),
  });
  return (await response.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] };
}

describe("the first start", { timeout: 120_000 }, () => {
  let developmentKey: string;

  it("creates the demo tenant and prints a development key that reads and writes", async () => {
    const server = await start();
    try {
      expect(server.output).toMatch(/Created the demo tenant "Demo Coffee Roasters"\./);
      const key = /Development API key[^\n]*\n\s+(clk_\S+)/.exec(server.output)?.[1];
      expect(key).toBeDefined();
      developmentKey = key as string;

      const read = await query(
        server.url,
        developmentKey,
        '{ customer(externalId: "CUST-1001") { name accounts { id currency } } }',
      );
      expect(read.errors).toBeUndefined();
      expect(read.data.customer.name).toBe("Jana Nováková");

      const account = read.data.customer.accounts.find((a: { currency: string }) => a.currency === "PTS").id as string;
      const write = await query(
        server.url,
        developmentKey,
        "mutation ($input: DepositInput!) { deposit(input: $input) { action { initiator { type } } userErrors { code } } }",
        { input: { accountId: account, amount: "5" } },
      );
      expect(write.errors).toBeUndefined();
      expect(write.data.deposit).toEqual({ action: { initiator: { type: "API_KEY" } }, userErrors: [] });

      // The key is printed for whoever started the server, and served to nobody: the GraphiQL page (which
      // needs no key) does not contain it, and it is not kept in a file either.
      const page = await fetch(server.url, { headers: { accept: "text/html" } });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).not.toContain(developmentKey);
      expect(html).not.toMatch(/clk_[a-z0-9]{8}_/);
      if (testDatabase.url.startsWith("file:")) {
        expect(existsSync(path.join(path.dirname(testDatabase.url.slice("file:".length)), "demo-api-key"))).toBe(false);
      }
    } finally {
      await server.stop();
    }
    const keys = await testDatabase.database.read.apiKey.findMany();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ name: "Development key", scopes: "read write", revokedAt: null, expiresAt: null });
    expect(JSON.stringify(keys)).not.toContain(developmentKey);
  });

  it("a second start creates nothing and prints no key; the first key still works", async () => {
    const server = await start();
    try {
      expect(server.output).not.toMatch(/Created the demo tenant|Development API key|clk_/);
      const read = await query(server.url, developmentKey, "{ stores { edges { node { name } } } }");
      expect(read.errors).toBeUndefined();
      expect(read.data.stores.edges.length).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
    expect(await testDatabase.database.read.tenant.count()).toBe(1);
    expect(await testDatabase.database.read.apiKey.count()).toBe(1);
  });
});

describe("demo data where it does not belong", { timeout: 120_000 }, () => {
  it(`is not made ${testEngine === "postgres" ? "on PostgreSQL by default" : "with DEMO_DATA=false"}; the start says how to create a tenant`, async () => {
    const empty = await createTestDatabase();
    try {
      const server = await start(testEngine === "postgres" ? { DEMO_DATA: "" } : { DEMO_DATA: "false" }, empty);
      try {
        expect(server.output).not.toMatch(/Demo Coffee Roasters|Development API key|clk_/);
        expect(server.output).toMatch(/npm run keys -- create-tenant/);
      } finally {
        await server.stop();
      }
      expect(await empty.database.read.tenant.count()).toBe(0);
      expect(await empty.database.read.apiKey.count()).toBe(0);
    } finally {
      await empty.drop();
    }
  });
});
