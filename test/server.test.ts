// The HTTP behaviour of the gateway: GraphQL, GraphiQL, the health check, error handling and graceful
// shutdown. Requests go through `gateway.fetch` in-process, except for shutdown, which needs real sockets.
import { EventEmitter } from "node:events";
import { Agent, request as httpRequest } from "node:http";
import { GraphQLObjectType, GraphQLSchema, GraphQLString } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../src/auth/api-keys.ts";
import { loadConfig } from "../src/config/config.ts";
import { createLedger } from "../src/ledger/index.ts";
import { apiVersion } from "../src/schema/meta.ts";
import { startHttpServer } from "../src/server/http.ts";
import { createGateway, type Gateway } from "../src/server/yoga.ts";
import { createTestDatabase, type TestDatabase } from "./support/database.ts";

const config = loadConfig({ LOG_LEVEL: "silent" });

let testDatabase: TestDatabase;
let gateway: Gateway;
let key: string;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  const tenant = await createLedger(testDatabase.database).createTenant({
    name: "Server tenant",
    timeZone: "UTC",
    defaultLocale: "en",
  });
  if (!tenant.ok) throw new Error(tenant.error.message);
  key = (await createApiKey(testDatabase.database, { tenantId: tenant.tenant.id, name: "server", scopes: ["read"] }))
    .secret;
  gateway = createGateway({ database: testDatabase.database, config });
});

afterAll(async () => {
  await testDatabase?.drop();
});

async function postGraphQL(target: Gateway, query: string): Promise<Response> {
  return await target.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json",
      authorization: `Bearer ${key}`,
    },
    body: JSON.stringify({ query }),
  });
}

/** A schema with resolvers the real API does not have, to see how the server handles them. */
function testSchema(resolvers: { fail?: () => never; slow?: () => Promise<string> }): GraphQLSchema {
  return new GraphQLSchema({
    query: new GraphQLObjectType({
      name: "Query",
      fields: {
        fail: { type: GraphQLString, resolve: resolvers.fail },
        slow: { type: GraphQLString, resolve: resolvers.slow },
      },
    }),
  });
}

describe("GraphQL endpoint", () => {
  it("answers { apiVersion }", async () => {
    const response = await postGraphQL(gateway, "{ apiVersion }");
    expect(response.status).toBe(200);
    // Responses also carry extensions (the operation's cost); the data and the absence of errors matter here.
    const body = (await response.json()) as { data?: unknown; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ apiVersion });
  });

  it("serves GraphiQL to a browser", async () => {
    const response = await gateway.fetch("http://gateway.test/graphql", { headers: { accept: "text/html" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await response.text()).toMatch(/graphiql/i);
  });

  it("does not serve GraphiQL when it is disabled", async () => {
    const withoutGraphiql = createGateway({
      database: testDatabase.database,
      config: loadConfig({ LOG_LEVEL: "silent", GRAPHIQL: "false" }),
    });
    const response = await withoutGraphiql.fetch("http://gateway.test/graphql", {
      headers: { accept: "text/html" },
    });
    expect(await response.text()).not.toMatch(/<html/i);
  });

  it("reports an unknown field as a validation error, not a server error", async () => {
    const response = await postGraphQL(gateway, "{ noSuchField }");
    // A request that fails validation is the client's fault: the GraphQL-over-HTTP spec answers 400.
    expect(response.status).toBe(400);
    const body = (await response.json()) as { data?: unknown; errors: { message: string }[] };
    expect(body.data).toBeUndefined();
    expect(body.errors).toEqual([
      expect.objectContaining({ message: 'Cannot query field "noSuchField" on type "Query".' }),
    ]);
  });

  it("masks the message of an unexpected error", async () => {
    const failing = createGateway({
      database: testDatabase.database,
      config,
      schema: testSchema({
        fail: () => {
          throw new Error("connection to 10.0.0.7 refused (password=secret)");
        },
      }),
    });
    const response = await postGraphQL(failing, "{ fail }");
    const text = await response.text();
    expect(text).not.toContain("10.0.0.7");
    expect(text).not.toContain("secret");
    expect(JSON.parse(text)).toMatchObject({
      data: { fail: null },
      errors: [expect.objectContaining({ message: "Unexpected error.", path: ["fail"] })],
    });
  });
});

// Every malformed part of a request is the client's mistake: 400 BAD_REQUEST in the same body shape as a POST
// of invalid JSON, without a key too, and never an error-level line in the log (which anyone could flood).
describe("malformed requests", () => {
  const lines: { level: string; msg: string }[] = [];
  let logged: Gateway;

  beforeAll(() => {
    logged = createGateway({
      database: testDatabase.database,
      config: loadConfig({ LOG_LEVEL: "info" }),
      logWriter: (line) => lines.push(JSON.parse(line) as { level: string; msg: string }),
    });
  });

  const query = "{ apiVersion }";
  const search = (params: [string, string][]) => new URLSearchParams(params).toString();
  const cases: [string, () => RequestInit & { url?: string }][] = [
    [
      "a GET with variables that are not JSON",
      () => ({
        url: search([
          ["query", query],
          ["variables", "{bad"],
        ]),
      }),
    ],
    [
      "a GET with extensions that are not JSON",
      () => ({
        url: search([
          ["query", query],
          ["extensions", "{bad"],
        ]),
      }),
    ],
    [
      "a GET with variables that are not an object",
      () => ({
        url: search([
          ["query", query],
          ["variables", "[1]"],
        ]),
      }),
    ],
    ["a GET without a query", () => ({ url: search([["variables", "{}"]]) })],
    ["a GET with an empty query", () => ({ url: search([["query", ""]]) })],
    [
      "a GET with a query given twice",
      () => ({
        url: search([
          ["query", query],
          ["query", "{ __typename }"],
        ]),
      }),
    ],
    [
      "a GET with variables given twice",
      () => ({
        url: search([
          ["query", query],
          ["variables", "{}"],
          ["variables", '{"a":1}'],
        ]),
      }),
    ],
    [
      "a GET with operationName given twice",
      () => ({
        url: search([
          ["query", "query A { apiVersion }"],
          ["operationName", "A"],
          ["operationName", "B"],
        ]),
      }),
    ],
    [
      "a form POST with variables that are not JSON",
      () => ({
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: search([
          ["query", query],
          ["variables", "{bad"],
        ]),
      }),
    ],
    [
      "a form POST with extensions given twice",
      () => ({
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: search([
          ["query", query],
          ["extensions", "{}"],
          ["extensions", "{}"],
        ]),
      }),
    ],
    [
      "a multipart POST without operations",
      () => {
        const form = new FormData();
        form.set("map", "{}");
        return { method: "POST", body: form };
      },
    ],
    [
      "a multipart POST whose operations are not JSON",
      () => {
        const form = new FormData();
        form.set("operations", "{bad");
        return { method: "POST", body: form };
      },
    ],
    [
      "a multipart POST whose map is not JSON",
      () => {
        const form = new FormData();
        form.set("operations", JSON.stringify({ query }));
        form.set("map", "{bad");
        return { method: "POST", body: form };
      },
    ],
    [
      "a JSON POST that is not JSON",
      () => ({ method: "POST", headers: { "content-type": "application/json" }, body: "{bad" }),
    ],
  ];

  // Parameters that parse but do not make a request are checked once the key is known (401 without one).
  const checkedAfterTheKey = new Set([
    "a GET with variables that are not an object",
    "a GET without a query",
    "a GET with an empty query",
  ]);
  for (const [what, init] of cases) {
    for (const withKey of checkedAfterTheKey.has(what) ? [true] : [false, true]) {
      it(`refuses ${what} with 400 BAD_REQUEST, ${withKey ? "with" : "without"} a key`, async () => {
        lines.length = 0;
        const { url = "", headers = {}, ...rest } = init();
        const response = await logged.fetch(`http://gateway.test/graphql${url ? `?${url}` : ""}`, {
          ...rest,
          headers: {
            // The status of a request error is 400 to this type (to application/json some are 200).
            accept: "application/graphql-response+json",
            "graphql-require-preflight": "1",
            ...(withKey ? { authorization: `Bearer ${key}` } : {}),
            ...(headers as Record<string, string>),
          },
        });
        expect(response.status).toBe(400);
        expect(response.headers.get("content-type")).toMatch(/^application\/graphql-response\+json/);
        const body = (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: any }[] };
        expect(body.data).toBeUndefined();
        expect(body.errors).toHaveLength(1);
        expect(body.errors?.[0]?.extensions?.code).toBe("BAD_REQUEST");
        expect(body.errors?.[0]?.message).not.toBe("Unexpected error.");
        expect(lines.filter((line) => line.level === "error")).toEqual([]);
      });
    }
  }

  it("says what is wrong, in Czech too", async () => {
    const url = `http://gateway.test/graphql?${search([
      ["query", query],
      ["variables", "{bad"],
    ])}`;
    const headers = { accept: "application/json", "graphql-require-preflight": "1" };
    const english = (await (await logged.fetch(url, { headers })).json()) as { errors: { message: string }[] };
    expect(english.errors[0]?.message).toBe('The parameter "variables" is not valid JSON.');
    const czech = (await (await logged.fetch(url, { headers: { ...headers, "accept-language": "cs" } })).json()) as {
      errors: { message: string }[];
    };
    expect(czech.errors[0]?.message).toBe('Chybně sestavený požadavek (The parameter "variables" is not valid JSON.)');
  });

  it("still answers a well-formed GET and form POST", async () => {
    const params = search([
      ["query", "query ($v: Boolean!) { apiVersion @include(if: $v) }"],
      ["variables", '{"v":true}'],
      ["extensions", "{}"],
    ]);
    const headers = { accept: "application/json", "graphql-require-preflight": "1", authorization: `Bearer ${key}` };
    for (const response of [
      await logged.fetch(`http://gateway.test/graphql?${params}`, { headers }),
      await logged.fetch("http://gateway.test/graphql", {
        method: "POST",
        headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
        body: params,
      }),
    ]) {
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ data: { apiVersion } });
    }
  });
});

describe("health check", () => {
  it("answers GET /health with 200 and a JSON status", async () => {
    const response = await gateway.fetch("http://gateway.test/health");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ status: "ok" });
  });
});

describe("graceful shutdown", () => {
  // Shutting down disposes the gateway, so each test serves a gateway of its own.
  const ownGateway = () => createGateway({ database: testDatabase.database, config });

  /** A request whose resolver runs until the test releases it. */
  function slowGateway() {
    let release!: () => void;
    let started!: () => void;
    const releaseSignal = new Promise<void>((resolve) => (release = resolve));
    const startedSignal = new Promise<void>((resolve) => (started = resolve));
    const slow = createGateway({
      database: testDatabase.database,
      config,
      schema: testSchema({
        slow: async () => {
          started();
          await releaseSignal;
          return "done";
        },
      }),
    });
    return { gateway: slow, started: startedSignal, release };
  }

  function send(port: number, options: { path?: string; body?: string; agent?: Agent } = {}) {
    return new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
      const request = httpRequest(
        {
          host: "127.0.0.1",
          port,
          path: options.path ?? "/graphql",
          method: options.body ? "POST" : "GET",
          headers: options.body ? { "content-type": "application/json", authorization: `Bearer ${key}` } : {},
          agent: options.agent,
        },
        (response) => {
          let body = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => (body += chunk));
          response.on("end", () =>
            resolve({ status: response.statusCode ?? 0, body, connection: response.headers.connection }),
          );
          response.on("error", reject);
        },
      );
      request.on("error", reject);
      request.end(options.body);
    });
  }

  const slowQuery = JSON.stringify({ query: "{ slow }" });

  /**
   * Waits for the slow resolver to start. If the request ends first (it failed before reaching the
   * resolver), fails with its response at once instead of waiting for the test's timeout.
   */
  async function untilStarted(started: Promise<void>, request: Promise<{ status: number; body: string }>) {
    await Promise.race([
      started,
      request.then(
        (response) => {
          throw new Error(`The request ended before its resolver started: ${response.status} ${response.body}`);
        },
        (error: unknown) => {
          throw new Error("The request failed before its resolver started", { cause: error });
        },
      ),
    ]);
  }

  it("finishes in-flight requests, refuses new connections, then runs onShutdown", async () => {
    const { gateway: slow, started, release } = slowGateway();
    let shutDownHooks = 0;
    const server = await startHttpServer(
      slow,
      { host: "127.0.0.1", port: 0, shutdownTimeoutMs: 10_000 },
      { signals: [], onShutdown: () => void shutDownHooks++ },
    );
    // A keep-alive agent, so that the in-flight request's connection would stay open if nothing closed it.
    const agent = new Agent({ keepAlive: true });
    try {
      const inFlight = send(server.port, { body: slowQuery, agent });
      await untilStarted(started, inFlight);

      const shutdown = server.shutdown();
      await expect(send(server.port, { path: "/health" })).rejects.toMatchObject({ code: "ECONNREFUSED" });
      expect(shutDownHooks).toBe(0);

      release();
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toMatchObject({ data: { slow: "done" } });
      expect(response.connection).toBe("close");

      await expect(shutdown).resolves.toEqual({ forcedConnections: 0 });
      expect(shutDownHooks).toBe(1);
      expect(server.server.listening).toBe(false);
    } finally {
      release();
      agent.destroy();
      await server.shutdown();
    }
  });

  it("does not wait for idle keep-alive connections", async () => {
    const server = await startHttpServer(
      ownGateway(),
      // A timeout far longer than the test's, so that only closing idle connections can end it in time.
      { host: "127.0.0.1", port: 0, shutdownTimeoutMs: 60_000 },
      { signals: [] },
    );
    const agent = new Agent({ keepAlive: true });
    try {
      const response = await send(server.port, { path: "/health", agent });
      expect(response.status).toBe(200);
      await expect(server.shutdown()).resolves.toEqual({ forcedConnections: 0 });
    } finally {
      agent.destroy();
      await server.shutdown();
    }
  });

  it("closes requests still running when the shutdown timeout expires", async () => {
    const { gateway: slow, started, release } = slowGateway();
    let shutDownHooks = 0;
    const server = await startHttpServer(
      slow,
      { host: "127.0.0.1", port: 0, shutdownTimeoutMs: 50 },
      { signals: [], onShutdown: () => void shutDownHooks++ },
    );
    try {
      const inFlight = send(server.port, { body: slowQuery });
      await untilStarted(started, inFlight);
      await expect(server.shutdown()).resolves.toEqual({ forcedConnections: 1 });
      await expect(inFlight).rejects.toMatchObject({ code: "ECONNRESET" });
      expect(shutDownHooks).toBe(1);
    } finally {
      release();
      await server.shutdown();
    }
  });

  it("shuts down on SIGTERM and exits with code 0", async () => {
    const signals = new EventEmitter();
    const exited = new Promise<number>((resolve) => {
      void startHttpServer(
        ownGateway(),
        { host: "127.0.0.1", port: 0, shutdownTimeoutMs: 1_000 },
        { signalSource: signals, exit: resolve },
      ).then(() => signals.emit("SIGTERM"));
    });
    await expect(exited).resolves.toBe(0);
    expect(signals.listenerCount("SIGTERM")).toBe(0);
    expect(signals.listenerCount("SIGINT")).toBe(0);
  });
});
