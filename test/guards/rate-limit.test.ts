// Rate limits per API key and per client address, in memory and shared through a real Redis by two
// gateway instances. Requests go through `gateway.fetch`, as a client's would reach the gateway.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.ts";
import { loadConfig } from "../../src/config/config.ts";
import { createLedger } from "../../src/ledger/index.ts";
import { createRateLimiter, type RateLimiter } from "../../src/server/guards/rate-limit.ts";
import { createGateway, type Gateway, type GatewayConfig } from "../../src/server/yoga.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

// The Redis that `npm test` starts for the run (scripts/test.ts); without it the Redis tests are skipped.
const redisUrl = process.env.TEST_REDIS_URL || null;
if (!redisUrl) {
  console.warn(
    "\n!!! Redis rate-limit tests SKIPPED: TEST_REDIS_URL is not set (npm test sets it when redis-server is installed).\n",
  );
}

let testDatabase: TestDatabase;
let keyA: string;
let keyB: string;
const gateways: Gateway[] = [];
const limiters: RateLimiter[] = [];

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  const ledger = createLedger(testDatabase.database);
  const created = await ledger.createTenant({
    name: "Rate-limited merchant",
    timeZone: "Europe/Prague",
    defaultLocale: "en",
  });
  if (!created.ok) throw new Error(created.error.message);
  const key = async (name: string) =>
    (await createApiKey(testDatabase.database, { tenantId: created.tenant.id, name, scopes: ["read"] })).secret;
  keyA = await key("A");
  keyB = await key("B");
});

afterAll(async () => {
  for (const gateway of gateways) await gateway.dispose();
  for (const limiter of limiters) await limiter.close();
  await testDatabase?.drop();
});

/** A gateway with its own rate-limit counters (a fresh prefix), so that tests never share a bucket. */
function gateway(config: Partial<GatewayConfig> = {}): Gateway {
  const created = createGateway({
    database: testDatabase.database,
    config: { ...loadConfig({ LOG_LEVEL: "silent" }), redisUrl: null, ...config },
    rateLimitKeyPrefix: uniquePrefix(),
  });
  gateways.push(created);
  return created;
}

function uniquePrefix(): string {
  return `test-rate-limit:${randomBytes(6).toString("hex")}`;
}

function post(target: Gateway, options: { key?: string; forwardedFor?: string; query?: string } = {}) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  if (options.forwardedFor) headers["x-forwarded-for"] = options.forwardedFor;
  return target.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers,
    body: JSON.stringify({ query: options.query ?? "{ apiVersion }" }),
  });
}

async function expectRateLimited(response: Response, limit: number) {
  expect(response.status).toBe(429);
  const retryAfter = Number(response.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(response.headers.get("ratelimit-limit")).toBe(String(limit));
  expect(response.headers.get("ratelimit-remaining")).toBe("0");
  expect(Number(response.headers.get("ratelimit-reset"))).toBe(retryAfter);
  const body = (await response.json()) as {
    data?: unknown;
    errors: { message: string; extensions: { code: string } }[];
  };
  expect(body.data).toBeUndefined();
  expect(body.errors).toEqual([expect.objectContaining({ extensions: { code: "RATE_LIMITED" } })]);
}

describe("rate limit per API key (in memory)", () => {
  it("answers 429 with Retry-After and RateLimit headers once a key has used its requests", async () => {
    const target = gateway({ rateLimitRequests: 3 });
    for (let remaining = 2; remaining >= 0; remaining--) {
      const response = await post(target, { key: keyA });
      expect(response.status).toBe(200);
      expect(response.headers.get("ratelimit-limit")).toBe("3");
      expect(response.headers.get("ratelimit-remaining")).toBe(String(remaining));
      expect(response.headers.get("retry-after")).toBeNull();
    }
    await expectRateLimited(await post(target, { key: keyA }), 3);
  });

  it("counts each key on its own", async () => {
    const target = gateway({ rateLimitRequests: 1 });
    expect((await post(target, { key: keyA })).status).toBe(200);
    await expectRateLimited(await post(target, { key: keyA }), 1);
    expect((await post(target, { key: keyB })).status).toBe(200);
  });

  it("turns off with RATE_LIMIT_REQUESTS=0", async () => {
    const target = gateway({ rateLimitRequests: 0 });
    for (let index = 0; index < 5; index++) {
      const response = await post(target, { key: keyA });
      expect(response.status).toBe(200);
      expect(response.headers.get("ratelimit-limit")).toBeNull();
    }
  });
});

// Requests without a valid key are answered 401 UNAUTHENTICATED while their address is under its limit, and
// 429 RATE_LIMITED once it is not.
describe("rate limit per client address (requests without a valid key)", () => {
  it("limits requests without a key per forwarded address, before parsing them", async () => {
    const target = gateway({ rateLimitAnonymousRequests: 2, trustedProxies: 1 });
    expect((await post(target, { forwardedFor: "203.0.113.7" })).status).toBe(401);
    expect((await post(target, { forwardedFor: "203.0.113.7" })).status).toBe(401);
    // Even a document that would not parse is refused by the limit first.
    await expectRateLimited(await post(target, { forwardedFor: "203.0.113.7", query: "{" }), 2);
    expect((await post(target, { forwardedFor: "198.51.100.1" })).status).toBe(401);
  });

  it("trusts only as many X-Forwarded-For entries as there are trusted proxies", async () => {
    const target = gateway({ rateLimitAnonymousRequests: 1, trustedProxies: 1 });
    // The client made up the first entry; the proxy appended the address it really saw.
    expect((await post(target, { forwardedFor: "10.0.0.1, 203.0.113.9" })).status).toBe(401);
    await expectRateLimited(await post(target, { forwardedFor: "10.0.0.2, 203.0.113.9" }), 1);
  });

  it("counts a request with an unknown key against its address, not a fresh bucket per invented key", async () => {
    const target = gateway({ rateLimitAnonymousRequests: 2, trustedProxies: 1 });
    const invented = () => `clk_abcdefgh_${randomBytes(32).toString("base64url")}`;
    const first = await post(target, { key: invented(), forwardedFor: "203.0.113.20" });
    expect(first.status).toBe(401);
    expect(first.headers.get("ratelimit-remaining")).toBe("1");
    expect((await post(target, { key: invented(), forwardedFor: "203.0.113.20" })).status).toBe(401);
    await expectRateLimited(await post(target, { key: invented(), forwardedFor: "203.0.113.20" }), 2);
    // A valid key from the same address has its own limit.
    expect((await post(target, { key: keyA, forwardedFor: "203.0.113.20" })).status).toBe(200);
  });

  it("does not count the operational endpoints or GraphiQL", async () => {
    const target = gateway({ rateLimitAnonymousRequests: 1, trustedProxies: 1 });
    for (let index = 0; index < 3; index++) {
      expect((await target.fetch("http://gateway.test/health")).status).toBe(200);
      const graphiql = await target.fetch("http://gateway.test/graphql", { headers: { accept: "text/html" } });
      expect(graphiql.status).toBe(200);
    }
    expect((await post(target, { forwardedFor: "203.0.113.30" })).status).toBe(401);
  });
});

/**
 * A gateway instance counting in the shared Redis, as a separately started process would: each has its own
 * connection, and all of them use the same counters.
 */
async function redisGateway(requests: number, prefix: string): Promise<Gateway> {
  const limiter = createRateLimiter({
    requests,
    anonymousRequests: 0,
    windowSeconds: 60,
    redisUrl,
    trustedProxies: 0,
    warn: (message) => console.warn(message),
    keyPrefix: prefix,
  });
  limiters.push(limiter);
  // Until the connection is up the instance counts in memory; the test is about the shared count.
  expect(await limiter.ready(10_000)).toBe(true);
  const created = createGateway({
    database: testDatabase.database,
    config: { graphiql: false, logLevel: "silent" },
    rateLimiter: limiter,
  });
  gateways.push(created);
  return created;
}

describe.skipIf(!redisUrl)("rate limit shared through Redis", () => {
  it("enforces one limit across two gateway instances", async () => {
    const prefix = uniquePrefix();
    const first = await redisGateway(4, prefix);
    const second = await redisGateway(4, prefix);
    const statuses: number[] = [];
    for (const target of [first, second, first, second]) {
      const response = await post(target, { key: keyA });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200]);
    // Each instance alone has seen only two requests, but the shared count is at the limit.
    await expectRateLimited(await post(first, { key: keyA }), 4);
    await expectRateLimited(await post(second, { key: keyA }), 4);
    expect((await post(second, { key: keyB })).status).toBe(200);
  });

  it("counts concurrent requests exactly (the increment is atomic)", async () => {
    const prefix = uniquePrefix();
    const instances = [await redisGateway(10, prefix), await redisGateway(10, prefix)];
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, index) => post(instances[index % 2]!, { key: keyB })),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(20);
  });
});

describe("rate limit when Redis is down", () => {
  it("keeps limiting in memory when Redis cannot be reached", async () => {
    const warnings: string[] = [];
    const limiter = createRateLimiter({
      requests: 2,
      anonymousRequests: 0,
      windowSeconds: 60,
      // Nothing listens on port 1.
      redisUrl: "redis://127.0.0.1:1",
      trustedProxies: 0,
      warn: (message) => warnings.push(message),
      keyPrefix: uniquePrefix(),
    });
    try {
      const target = createGateway({
        database: testDatabase.database,
        config: { graphiql: false, logLevel: "silent" },
        rateLimiter: limiter,
      });
      gateways.push(target);
      expect((await post(target, { key: keyA })).status).toBe(200);
      expect((await post(target, { key: keyA })).status).toBe(200);
      await expectRateLimited(await post(target, { key: keyA }), 2);
      await vi.waitFor(() => expect(warnings.join("\n")).toMatch(/Redis is unavailable/), { timeout: 10_000 });
    } finally {
      await limiter.close();
    }
  });
});
