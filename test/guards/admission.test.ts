// Maintenance mode and load shedding: both answer 503 with Retry-After, and /health keeps answering 200.
import { GraphQLObjectType, GraphQLSchema, GraphQLString } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.ts";
import { createAdmissionControl } from "../../src/server/guards/admission.ts";
import { createGateway, type Gateway } from "../../src/server/yoga.ts";
import { createTenantKey } from "../support/api.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

let testDatabase: TestDatabase;
let key: string | null = null;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  key = await createTenantKey(testDatabase.database);
});

afterAll(async () => {
  await testDatabase?.drop();
});

const query = (target: Gateway, text = "{ apiVersion }", withKey = true) =>
  target.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...(withKey && key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query: text }),
  });

async function expectUnavailable(response: Response, code: string, retryAfter: string) {
  expect(response.status).toBe(503);
  expect(response.headers.get("retry-after")).toBe(retryAfter);
  const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
  expect(body.errors).toEqual([expect.objectContaining({ extensions: { code } })]);
}

describe("maintenance mode", () => {
  it("answers 503 with Retry-After while MAINTENANCE_MODE is on, and keeps /health and /ready up", async () => {
    const config = loadConfig({ LOG_LEVEL: "silent", MAINTENANCE_MODE: "true", RETRY_AFTER_SECONDS: "120" });
    const gateway = createGateway({ database: testDatabase.database, config });
    await expectUnavailable(await query(gateway), "MAINTENANCE", "120");
    expect((await gateway.fetch("http://gateway.test/health")).status).toBe(200);
    expect((await gateway.fetch("http://gateway.test/ready")).status).toBe(200);
  });

  it("can be switched on and off at run time", async () => {
    const config = loadConfig({ LOG_LEVEL: "silent" });
    const admission = createAdmissionControl(config);
    const gateway = createGateway({ database: testDatabase.database, config, admission });
    expect((await query(gateway)).status).toBe(200);
    admission.setMaintenanceMode(true);
    await expectUnavailable(await query(gateway), "MAINTENANCE", "5");
    admission.setMaintenanceMode(false);
    expect((await query(gateway)).status).toBe(200);
  });
});

describe("load shedding", () => {
  it("refuses requests beyond MAX_IN_FLIGHT_REQUESTS at once, serves the others, and recovers", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({
        name: "Query",
        fields: {
          slow: {
            type: GraphQLString,
            resolve: async () => {
              started++;
              await released;
              return "done";
            },
          },
          fast: { type: GraphQLString, resolve: () => "fast" },
        },
      }),
    });
    const config = loadConfig({ LOG_LEVEL: "silent", MAX_IN_FLIGHT_REQUESTS: "2", RETRY_AFTER_SECONDS: "3" });
    const admission = createAdmissionControl(config);
    const gateway = createGateway({ database: testDatabase.database, config, schema, admission });

    const slow = [query(gateway, "{ slow }"), query(gateway, "{ slow }")];
    try {
      await expect.poll(() => started).toBe(2);
      expect(admission.inFlight).toBe(2);
      // A third request is refused immediately rather than queued behind the two.
      await expectUnavailable(await query(gateway, "{ fast }"), "OVERLOADED", "3");
      // The liveness check is not a request the gateway sheds.
      expect((await gateway.fetch("http://gateway.test/health")).status).toBe(200);
    } finally {
      release();
    }
    for (const response of await Promise.all(slow)) {
      expect(response.status).toBe(200);
      expect(((await response.json()) as { data: unknown }).data).toEqual({ slow: "done" });
    }
    expect(admission.inFlight).toBe(0);
    expect((await query(gateway, "{ fast }")).status).toBe(200);
  });

  it("does not leave refused requests counted", async () => {
    const config = loadConfig({ LOG_LEVEL: "silent", MAX_IN_FLIGHT_REQUESTS: "5", RATE_LIMIT_ANONYMOUS_REQUESTS: "1" });
    const admission = createAdmissionControl(config);
    const gateway = createGateway({
      database: testDatabase.database,
      config,
      admission,
      rateLimitKeyPrefix: `admission-${Date.now()}`,
    });
    const statuses = [];
    for (let index = 0; index < 8; index++) statuses.push((await query(gateway, "{ apiVersion }", false)).status);
    // The rate limiter refuses all but the first (which has no key: 401), after admission counted them; none
    // may stay counted.
    expect(statuses).toEqual([401, 429, 429, 429, 429, 429, 429, 429]);
    expect(admission.inFlight).toBe(0);
  });
});
