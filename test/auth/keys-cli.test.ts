// The keys tool end to end, on both engines: each command is a real process on a test database (migrations
// included), its output is read as an operator would read it, and the keys it makes are tried on the
// gateway. Secrets appear exactly once, at creation, and never in listings.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeyCacheMs } from "../../src/auth/api-keys.ts";
import { loadConfig } from "../../src/config/config.ts";
import { createLedger } from "../../src/ledger/index.ts";
import { createGateway, type Gateway } from "../../src/server/yoga.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

let testDatabase: TestDatabase;
let gateway: Gateway;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the tool as `npm run keys` does (tsx), against the test database unless env says otherwise. */
function keys(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return run(process.execPath, ["--import", "tsx", "src/cli/keys.ts", ...args], env);
}

function run(command: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: testDatabase.url, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function succeeds(args: string[]): Promise<string> {
  const result = await keys(args);
  expect(result.stderr).toBe("");
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

async function fails(args: string[], code: number, message: RegExp, env: Record<string, string> = {}): Promise<void> {
  const result = await keys(args, env);
  expect(result.code, `${args.join(" ")}: ${result.stdout}${result.stderr}`).toBe(code);
  expect(result.stderr).toMatch(message);
  expect(result.stdout).toBe("");
}

/** The status and first error code of a query sent with the key. */
async function tryKey(secret: string, query = "{ stores { edges { cursor } } }") {
  const response = await gateway.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": secret },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
  return body.errors?.[0]?.extensions?.code ?? "OK";
}

/** The secret from `create`'s output: the one indented line that holds a key. */
function secretIn(output: string): string {
  const secrets = output.split("\n").filter((line) => /^\s+clk_/.test(line));
  expect(secrets).toHaveLength(1);
  return (secrets[0] as string).trim();
}

/**
 * How far the gateway's clock runs ahead of real time. A gateway keeps a key it looked up for apiKeyCacheMs, so
 * a revocation by another process (this CLI) applies there within that time: the test moves the clock on
 * instead of waiting.
 */
let clockAheadMs = 0;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  gateway = createGateway({
    database: testDatabase.database,
    ledger: createLedger(testDatabase.database, { clock: () => new Date(Date.now() + clockAheadMs) }),
    config: loadConfig({ LOG_LEVEL: "silent" }),
  });
});

afterAll(async () => {
  await testDatabase?.drop();
});

describe("npm run keys", { timeout: 180_000 }, () => {
  let tenantId: string;
  let ciSecret: string;
  let readSecret: string;
  let readPrefix: string;

  it("creates a tenant and lists it", async () => {
    const created = await succeeds([
      "create-tenant",
      "--name",
      "Acme Coffee",
      "--time-zone",
      "Europe/Prague",
      "--locale",
      "cs",
    ]);
    expect(created).toMatch(/Created tenant "Acme Coffee" \(time zone Europe\/Prague, language cs\)/);
    tenantId = /Tenant id: (\S+)/.exec(created)?.[1] as string;
    const tenant = await testDatabase.database.read.tenant.findUniqueOrThrow({ where: { id: tenantId } });
    expect(tenant).toMatchObject({ name: "Acme Coffee", timeZone: "Europe/Prague", defaultLocale: "cs" });

    const listed = await succeeds(["tenants"]);
    expect(listed).toMatch(new RegExp(`${tenantId}\\s+Acme Coffee\\s+Europe/Prague\\s+cs`));
    const json = JSON.parse(await succeeds(["tenants", "--json"])) as { id: string; name: string }[];
    expect(json).toEqual([
      expect.objectContaining({ id: tenantId, name: "Acme Coffee", timeZone: "Europe/Prague", defaultLocale: "cs" }),
    ]);
  });

  it("creates keys whose secret is printed once and works on the gateway", async () => {
    const ci = await succeeds([
      "create",
      "--tenant",
      tenantId,
      "--name",
      "ci",
      "--scopes",
      "read,write",
      "--expires",
      "2099-01-01",
    ]);
    expect(ci).toMatch(
      /Created API key "ci" for tenant "Acme Coffee": .*scopes read, write, expires 2099-01-01T00:00:00\+01:00\./,
    );
    expect(ci).toMatch(/shown only this once/);
    ciSecret = secretIn(ci);
    expect(await tryKey(ciSecret)).toBe("OK");

    const readOnly = JSON.parse(
      await succeeds(["create", "--tenant", tenantId, "--name", "reports", "--scopes", "read", "--json"]),
    );
    expect(readOnly).toMatchObject({
      name: "reports",
      scopes: ["read"],
      status: "active",
      expiresAt: null,
      lastUsedAt: null,
    });
    readSecret = readOnly.secret;
    readPrefix = readOnly.prefix;
    expect(readSecret.startsWith(`${readPrefix}_`)).toBe(true);
    expect(await tryKey(readSecret)).toBe("OK");

    // The database holds the keys' hashes, never the secrets.
    const rows = JSON.stringify(await testDatabase.database.read.apiKey.findMany());
    expect(rows).not.toContain(ciSecret);
    expect(rows).not.toContain(readSecret);
    const stored = await testDatabase.database.read.apiKey.findFirstOrThrow({ where: { name: "ci" } });
    expect(stored.expiresAt?.toISOString()).toBe("2098-12-31T23:00:00.000Z");
    expect(stored.scopes).toBe("read write");
  });

  it("lists keys with prefix, name, scopes, times and status, and never their secrets", async () => {
    const listed = await succeeds(["list", "--tenant", tenantId]);
    expect(listed).toMatch(/PREFIX\s+NAME\s+SCOPES\s+STATUS\s+CREATED\s+LAST USED\s+EXPIRES\s+REVOKED/);
    expect(listed).toMatch(
      new RegExp(
        `${ciSecret.slice(0, 12)}\\s+ci\\s+read,write\\s+active\\s+\\S+\\s+\\S+\\s+2099-01-01T00:00:00\\+01:00\\s+-`,
      ),
    );
    expect(listed).toMatch(new RegExp(`${readPrefix}\\s+reports\\s+read\\s+active`));
    expect(listed).not.toContain(ciSecret);
    expect(listed).not.toContain(readSecret);
    // Both keys were used on the gateway above, so each shows a last use.
    expect(listed).not.toMatch(/\bnever\s+never\b/);
    const json = JSON.parse(await succeeds(["list", "--tenant", tenantId, "--json"])) as Record<string, unknown>[];
    expect(json).toHaveLength(2);
    for (const key of json) {
      expect(key).not.toHaveProperty("secret");
      expect(key).not.toHaveProperty("secretHash");
      expect(key.lastUsedAt).not.toBeNull();
    }
  });

  it("revokes a key by prefix or id; a running gateway refuses it within apiKeyCacheMs", async () => {
    const revoked = await succeeds(["revoke", readPrefix]);
    expect(revoked).toMatch(/Revoked API key "reports" \(clk_\w+\) of tenant "Acme Coffee"/);
    clockAheadMs += apiKeyCacheMs;
    expect(await tryKey(readSecret)).toBe("UNAUTHENTICATED");
    expect(await tryKey(ciSecret)).toBe("OK");

    const again = await succeeds(["revoke", readPrefix]);
    expect(again).toMatch(/was already revoked at .*; nothing changed\./);

    const ciId = (await testDatabase.database.read.apiKey.findFirstOrThrow({ where: { name: "ci" } })).id;
    expect(await succeeds(["revoke", ciId])).toMatch(/Revoked API key "ci"/);
    clockAheadMs += apiKeyCacheMs;
    expect(await tryKey(ciSecret)).toBe("UNAUTHENTICATED");

    const listed = await succeeds(["list", "--tenant", tenantId]);
    expect(listed).toMatch(
      new RegExp(`${readPrefix}\\s+reports\\s+read\\s+revoked\\s+.*\\d{4}-\\d{2}-\\d{2}T\\S+$`, "m"),
    );
  });

  it("works through the npm script", async () => {
    const result = await run("npm", ["run", "--silent", "keys", "--", "tenants", "--json"], {});
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([expect.objectContaining({ id: tenantId })]);
  });

  it("explains mistakes on stderr and exits non-zero", async () => {
    await fails(
      ["create", "--tenant", "no-such-tenant", "--name", "x", "--scopes", "read"],
      1,
      /No tenant has the id "no-such-tenant"/,
    );
    await fails(["list", "--tenant", "no-such-tenant"], 1, /No tenant has the id/);
    await fails(
      ["create", "--tenant", tenantId, "--name", "x", "--scopes", "admin"],
      1,
      /Unknown scope "admin"; the scopes are read and write/,
    );
    await fails(
      ["create", "--tenant", tenantId, "--name", "x", "--scopes", "read", "--expires", "2020-01-01"],
      1,
      /--expires must be in the future/,
    );
    await fails(
      ["create", "--tenant", tenantId, "--name", "x", "--scopes", "read", "--expires", "someday"],
      1,
      /--expires: DateTime must be/,
    );
    await fails(["create-tenant", "--name", "Bad", "--time-zone", "Mars/Olympus"], 1, /not an IANA time zone/);
    await fails(["revoke", "clk_nothing"], 1, /No API key has the id or prefix "clk_nothing"/);
    await fails(["create", "--tenant", tenantId, "--name", "x"], 2, /"create" needs --scopes/);
    await fails(["list"], 2, /"list" needs --tenant/);
    await fails(["revoke"], 2, /"revoke" takes exactly 1 argument/);
    await fails(["launch"], 2, /Unknown command "launch"/);
    await fails(["list", "--tenant", tenantId, "--verbose"], 2, /Unknown option '--verbose'/);
    await fails(["tenants"], 1, /DATABASE_URL must start with "file:" \(SQLite\) or "postgres:\/\/" \(PostgreSQL\)/, {
      DATABASE_URL: "mysql://localhost/x",
    });
    // Nothing above created anything.
    expect(await testDatabase.database.read.tenant.count()).toBe(1);
    expect(await testDatabase.database.read.apiKey.count()).toBe(2);
  });

  it("prints its usage", async () => {
    const help = await keys(["help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: npm run keys -- <command>/);
  });
});
