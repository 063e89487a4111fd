// The operational side: /ready, Prometheus metrics, one structured log line per request with a request
// id, and graceful shutdown with every guard in place.
import { Agent, request as httpRequest } from "node:http";
import { GraphQLObjectType, GraphQLSchema, GraphQLString } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.ts";
import { loadConfig } from "../../src/config/config.ts";
import type { Database } from "../../src/db/client.ts";
import { createLedger } from "../../src/ledger/index.ts";
import { schema as gatewaySchema } from "../../src/schema/index.ts";
import { createRateLimiter } from "../../src/server/guards/rate-limit.ts";
import { startHttpServer } from "../../src/server/http.ts";
import { createGateway, type Gateway } from "../../src/server/yoga.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

let testDatabase: TestDatabase;
let key: string;
let tenantId: string;
const config = loadConfig({ LOG_LEVEL: "info" });

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  const ledger = createLedger(testDatabase.database);
  const created = await ledger.createTenant({
    name: "Observed merchant",
    timeZone: "Europe/Prague",
    defaultLocale: "en",
  });
  if (!created.ok) throw new Error(created.error.message);
  tenantId = created.tenant.id;
  key = (await createApiKey(testDatabase.database, { tenantId, name: "observed", scopes: ["read"] })).secret;
});

afterAll(async () => {
  await testDatabase?.drop();
});

/** A gateway whose log lines the test can read. */
function observedGateway(options: { database?: Database; schema?: GraphQLSchema } = {}) {
  const lines: Record<string, unknown>[] = [];
  const gateway = createGateway({
    database: options.database ?? testDatabase.database,
    config,
    ...(options.schema ? { schema: options.schema } : {}),
    logWriter: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { gateway, lines };
}

const post = (gateway: Gateway, query: string, headers: Record<string, string> = {}) =>
  gateway.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}`, ...headers },
    body: JSON.stringify({ query }),
  });

describe("/ready", () => {
  it("answers 200 when the database answers", async () => {
    const { gateway } = observedGateway();
    const response = await gateway.fetch("http://gateway.test/ready");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ready" });
  });

  it("answers 503 when the database fails, without saying why, and logs the reason", async () => {
    const failing: Database = {
      ...testDatabase.database,
      read: {
        $queryRawUnsafe: () => Promise.reject(new Error("connect ECONNREFUSED 10.1.2.3:5432")),
      } as unknown as Database["read"],
    };
    const { gateway, lines } = observedGateway({ database: failing });
    const response = await gateway.fetch("http://gateway.test/ready");
    expect(response.status).toBe(503);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ status: "unavailable" });
    expect(text).not.toContain("10.1.2.3");
    expect(lines.some((line) => String(line.reason).includes("ECONNREFUSED"))).toBe(true);
    // Liveness does not depend on the database.
    expect((await gateway.fetch("http://gateway.test/health")).status).toBe(200);
  });

  it("answers 503 when the database does not answer within READY_TIMEOUT_MS", async () => {
    const hanging: Database = {
      ...testDatabase.database,
      read: { $queryRawUnsafe: () => new Promise(() => {}) } as unknown as Database["read"],
    };
    const gateway = createGateway({
      database: hanging,
      config: { ...config, logLevel: "silent", readyTimeoutMs: 100 },
    });
    const started = Date.now();
    const response = await gateway.fetch("http://gateway.test/ready");
    expect(response.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe("/metrics", () => {
  it("serves Prometheus metrics with bounded labels and no tenant or key in them", async () => {
    const { gateway } = observedGateway();
    await post(gateway, "query NamedByTheClient { apiVersion }");
    await gateway.fetch("http://gateway.test/no/such/path?tenant=abc");
    await gateway.fetch("http://gateway.test/health");
    const response = await gateway.fetch("http://gateway.test/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/http_requests_total\{method="POST",route="\/graphql",status="200"\} 1/);
    expect(text).toMatch(/http_requests_total\{method="GET",route="other",status="404"\} 1/);
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/health",status="200"\} 1/);
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/graphql",status="200"\}/,
    );
    expect(text).toMatch(/http_requests_in_flight \d+/);
    expect(text).toMatch(/graphql_envelop_request_duration/);
    expect(text).toMatch(/process_cpu_seconds_total/);
    for (const secret of [tenantId, key, "NamedByTheClient", "tenant=abc"]) expect(text).not.toContain(secret);
  });

  it("leaves out the deprecated-field counter only while the schema deprecates nothing", () => {
    // src/server/observability/metrics.ts turns graphql_envelop_deprecated_field off because no field is
    // deprecated; a deprecation must turn it back on there, or clients' use of the field goes unseen.
    const deprecated = Object.values(gatewaySchema.getTypeMap()).flatMap((type) =>
      "getFields" in type && !type.name.startsWith("__")
        ? Object.values(type.getFields()).filter((field) => "deprecationReason" in field && field.deprecationReason)
        : [],
    );
    expect(deprecated.map((field) => field.name)).toEqual([]);
  });

  it("is not served with METRICS=false", async () => {
    const gateway = createGateway({
      database: testDatabase.database,
      config: { ...config, logLevel: "silent", metrics: false },
    });
    expect((await gateway.fetch("http://gateway.test/metrics")).status).toBe(404);
  });
});

describe("request log", () => {
  it("writes one JSON line per request with id, method, path, status, duration, operation and tenant", async () => {
    const { gateway, lines } = observedGateway();
    const response = await post(gateway, "query Balances { apiVersion }", { "x-request-id": "client-chosen-42" });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toBe("client-chosen-42");
    const requestLines = lines.filter((line) => line.msg === "request");
    expect(requestLines).toHaveLength(1);
    expect(requestLines[0]).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      level: "info",
      msg: "request",
      requestId: "client-chosen-42",
      method: "POST",
      path: "/graphql",
      status: 200,
      durationMs: expect.any(Number),
      totalDurationMs: expect.any(Number),
      operationName: "Balances",
      tenantId,
    });
    // Neither the key nor anything else from the Authorization header is logged.
    expect(JSON.stringify(lines)).not.toContain(key);
    expect(JSON.stringify(lines)).not.toContain(key.slice(0, 12));
  });

  it("generates a request id when the client sends none or an unusable one", async () => {
    const { gateway, lines } = observedGateway();
    const plain = await gateway.fetch("http://gateway.test/health");
    expect(plain.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const forged = await gateway.fetch("http://gateway.test/health", {
      headers: { "x-request-id": 'x"\n{"level":"error"}' },
    });
    const id = forged.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.map((line) => line.requestId)).toEqual([plain.headers.get("x-request-id"), id]);
    expect(lines[0]).toMatchObject({ path: "/health", status: 200, tenantId: null, operationName: null });
  });

  it("logs refused requests too", async () => {
    const lines: Record<string, unknown>[] = [];
    const gateway = createGateway({
      database: testDatabase.database,
      config: { ...config, maintenanceMode: true },
      logWriter: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
    });
    expect((await post(gateway, "{ apiVersion }")).status).toBe(503);
    expect(lines).toEqual([expect.objectContaining({ msg: "request", status: 503, path: "/graphql" })]);
  });
});

describe("graceful shutdown with the guards in place", () => {
  it("finishes an in-flight request, then closes the shared rate-limit store", async () => {
    let release!: () => void;
    let started!: () => void;
    const releaseSignal = new Promise<void>((resolve) => (release = resolve));
    const startedSignal = new Promise<void>((resolve) => (started = resolve));
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({
        name: "Query",
        fields: {
          slow: {
            type: GraphQLString,
            resolve: async () => {
              started();
              await releaseSignal;
              return "done";
            },
          },
        },
      }),
    });
    let closed = 0;
    const limiter = createRateLimiter({
      requests: 100,
      anonymousRequests: 100,
      windowSeconds: 60,
      redisUrl: null,
      trustedProxies: 0,
      warn: () => {},
    });
    const gateway = createGateway({
      database: testDatabase.database,
      config: { ...config, logLevel: "silent", maxInFlightRequests: 5 },
      schema,
      // Stands in for the Redis-backed limiter: shutdown must close it only after the request finished.
      rateLimiter: {
        consume: (subject) => limiter.consume(subject),
        ready: async () => true,
        close: async () => void closed++,
      },
    });
    const server = await startHttpServer(
      gateway,
      { host: "127.0.0.1", port: 0, shutdownTimeoutMs: 10_000 },
      { signals: [] },
    );
    const agent = new Agent({ keepAlive: true });
    try {
      const inFlight = new Promise<{ status: number; body: string; headers: Record<string, unknown> }>(
        (resolve, reject) => {
          const request = httpRequest(
            {
              host: "127.0.0.1",
              port: server.port,
              path: "/graphql",
              method: "POST",
              agent,
              headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
            },
            (response) => {
              let body = "";
              response.setEncoding("utf8");
              response.on("data", (chunk: string) => (body += chunk));
              response.on("end", () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
            },
          );
          request.on("error", reject);
          request.end(JSON.stringify({ query: "{ slow }" }));
        },
      );
      await startedSignal;
      const shutdown = server.shutdown();
      release();
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body).data).toEqual({ slow: "done" });
      expect(response.headers["ratelimit-remaining"]).toBe("99");
      expect(response.headers["x-request-id"]).toBeTruthy();
      await expect(shutdown).resolves.toEqual({ forcedConnections: 0 });
      // Yoga's dispose hook closes a limiter the gateway built itself; this one was handed in, so the
      // gateway leaves it to its owner.
      expect(closed).toBe(0);
    } finally {
      release();
      agent.destroy();
      await server.shutdown();
      await limiter.close();
    }
  });
});
