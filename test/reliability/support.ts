// Shared by the database-fault tests: a gateway over a database opened with small, explicit pool settings,
// with a tenant, an API key and one credit account, and helpers that send deposits and reads through the
// gateway as a client would, and look at the gateway's connections from the server's side.
import { expect } from "vitest";
import pg from "pg";
import { createApiKey } from "../../src/auth/api-keys.ts";
import { loadConfig } from "../../src/config/config.ts";
import type { Database } from "../../src/db/client.ts";
import { createLedger, type Ledger } from "../../src/ledger/index.ts";
import { createGateway, type Gateway } from "../../src/server/yoga.ts";

export const applicationName = "ledger-reliability-test";

export interface DepositOutcome {
  status: number;
  /** "OK", a userErrors code (LEDGER_BUSY), a top-level error code (DATABASE_UNAVAILABLE), or "HTTP <status>". */
  code: string;
  retryAfter: string | null;
  elapsedMs: number;
}

export interface GatewayFixture {
  database: Database;
  ledger: Ledger;
  gateway: Gateway;
  tenantId: string;
  accountId: string;
  key: string;
  deposit(amount: number, options?: { idempotencyKey?: string }): Promise<DepositOutcome>;
  /** Reads the account's balance through the API; returns the status and the body. */
  read(): Promise<{ status: number; retryAfter: string | null; body: any }>;
  get(path: string): Promise<number>;
  verify(): Promise<unknown[]>;
}

export async function createGatewayFixture(database: Database): Promise<GatewayFixture> {
  const ledger = createLedger(database);
  const gateway = createGateway({
    database,
    ledger,
    config: loadConfig({ LOG_LEVEL: "silent", RATE_LIMIT_REQUESTS: "0" }),
  });
  const tenant = await ledger.createTenant({ name: "Reliability", timeZone: "Europe/Prague", defaultLocale: "en" });
  if (!tenant.ok) throw new Error(tenant.error.message);
  const tenantId = tenant.tenant.id;
  const { secret: key } = await createApiKey(database, {
    tenantId,
    name: "reliability key",
    scopes: ["read", "write"],
  });

  const post = async (query: string, variables: Record<string, unknown>) => {
    const response = await gateway.fetch("http://gateway.test/graphql", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json",
        authorization: `Bearer ${key}`,
      },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = { text };
    }
    return { status: response.status, retryAfter: response.headers.get("retry-after"), body };
  };

  const customer = await post(
    "mutation ($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } userErrors { code } } }",
    { input: { externalId: "C-1", name: "Jana Nováková" } },
  );
  const customerId = customer.body.data.createCustomer.customer.id as string;
  const account = await post(
    "mutation ($input: OpenCreditAccountInput!) { openCreditAccount(input: $input) { account { id } userErrors { code } } }",
    { input: { customerId, currency: "PTS", name: "Body" } },
  );
  const accountId = account.body.data.openCreditAccount.account.id as string;

  return {
    database,
    ledger,
    gateway,
    tenantId,
    accountId,
    key,
    async deposit(amount, { idempotencyKey } = {}) {
      const startedAt = performance.now();
      const { status, retryAfter, body } = await post(
        "mutation ($input: DepositInput!) { deposit(input: $input) { action { id } userErrors { code } } }",
        { input: { accountId, amount: String(amount), ...(idempotencyKey ? { idempotencyKey } : {}) } },
      );
      const elapsedMs = performance.now() - startedAt;
      const payload = body?.data?.deposit;
      const code = payload?.action
        ? "OK"
        : (payload?.userErrors?.[0]?.code ?? body?.errors?.[0]?.extensions?.code ?? `HTTP ${status}`);
      return { status, code, retryAfter, elapsedMs };
    },
    read: () => post("query ($id: ID!) { node(id: $id) { ... on CreditAccount { balance } } }", { id: accountId }),
    async get(path) {
      const response = await gateway.fetch(`http://gateway.test${path}`);
      await response.arrayBuffer();
      return response.status;
    },
    async verify() {
      // A database fault may still be clearing; the check itself must not be what fails.
      return ledger.verify({ tenantId });
    },
  };
}

/** Balance of the fixture's account as the ledger sees it, read through the API. */
export async function balance(fixture: GatewayFixture): Promise<bigint> {
  const { status, body } = await fixture.read();
  expect(status).toBe(200);
  return BigInt(body.data.node.balance);
}

/** The server's sessions of the gateway's pool (by application_name) on `database`. */
export async function gatewaySessions(
  adminUrl: string,
  database: string,
): Promise<{ pid: number; state: string | null }[]> {
  return withClient(adminUrl, async (client) => {
    const { rows } = await client.query<{ pid: number; state: string | null }>(
      "SELECT pid, state FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
      [database, applicationName],
    );
    return rows;
  });
}

/** Terminates every session of the gateway's pool on `database`; returns how many there were. */
export async function terminateGatewaySessions(adminUrl: string, database: string): Promise<number> {
  return withClient(adminUrl, async (client) => {
    const { rows } = await client.query<{ terminated: boolean }>(
      "SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
      [database, applicationName],
    );
    return rows.filter((row) => row.terminated).length;
  });
}

export async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/**
 * Holds a row lock on the account's row from a connection of the test's own (not the gateway's), so every
 * deposit into it waits inside its transaction, holding a pool connection, until `release()`.
 */
export async function lockAccountRow(url: string, tenantId: string): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query("BEGIN");
  await client.query("SELECT id FROM credit_account WHERE tenant_id = $1 FOR UPDATE", [tenantId]);
  let released: Promise<void> | undefined;
  return {
    release: () =>
      (released ??= (async () => {
        try {
          await client.query("ROLLBACK");
        } finally {
          await client.end();
        }
      })()),
  };
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns whether it did. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return true;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Sessions waiting on a lock in `database` (the gateway's deposits queued behind the test's row lock). */
export async function lockWaiters(adminUrl: string, database: string): Promise<number> {
  return withClient(adminUrl, async (client) => {
    const { rows } = await client.query<{ count: string }>(
      "SELECT count(*) AS count FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND wait_event_type = 'Lock'",
      [database, applicationName],
    );
    return Number(rows[0]!.count);
  });
}
