// Error masking (a database error's message never reaches the client), introspection switch, CSRF
// prevention and CORS.
import { GraphQLObjectType, GraphQLSchema, GraphQLString } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.ts";
import { createGateway, type Gateway } from "../../src/server/yoga.ts";
import { createTenantKey } from "../support/api.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

let testDatabase: TestDatabase;
let gateway: Gateway;
const config = loadConfig({ LOG_LEVEL: "silent" });

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  gateway = createGateway({ database: testDatabase.database, config });
  const key = await createTenantKey(testDatabase.database);
  json.authorization = `Bearer ${key}`;
  authorization.authorization = `Bearer ${key}`;
});

afterAll(async () => {
  await testDatabase?.drop();
});

// Every GraphQL request needs a valid key; beforeAll fills it in.
const authorization: Record<string, string> = {};
const json: Record<string, string> = {
  "content-type": "application/json",
  accept: "application/graphql-response+json",
};

describe("error masking", () => {
  it("does not let a Prisma error's message, SQL or stack reach the client", async () => {
    const database = testDatabase.database;
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({
        name: "Query",
        fields: {
          broken: {
            type: GraphQLString,
            resolve: async () => {
              await database.read.$queryRawUnsafe("SELECT secret_column FROM no_such_table_ledger");
              return "unreachable";
            },
          },
        },
      }),
    });
    // Development mode must not matter: masking stays on whatever NODE_ENV says.
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = "development";
    try {
      const failing = createGateway({ database, config, schema });
      const response = await failing.fetch("http://gateway.test/graphql", {
        method: "POST",
        headers: json,
        body: JSON.stringify({ query: "{ broken }" }),
      });
      const text = await response.text();
      for (const leak of ["no_such_table_ledger", "secret_column", "SELECT", "prisma", "Prisma", "at ", "stack"]) {
        expect(text).not.toContain(leak);
      }
      expect(JSON.parse(text)).toEqual({
        data: { broken: null },
        errors: [
          {
            message: "Unexpected error.",
            path: ["broken"],
            locations: [{ line: 1, column: 3 }],
            extensions: { code: "INTERNAL_SERVER_ERROR" },
          },
        ],
        extensions: { cost: { requestedQueryCost: 0, maximumAvailable: config.maxQueryCost } },
      });
    } finally {
      process.env.NODE_ENV = previous;
    }
  });
});

describe("introspection", () => {
  const introspect = (target: Gateway) =>
    target.fetch("http://gateway.test/graphql", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ query: "{ __schema { queryType { name } } }" }),
    });

  it("is allowed by default (GraphiQL needs it)", async () => {
    const response = await introspect(gateway);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { data: unknown }).data).toEqual({ __schema: { queryType: { name: "Query" } } });
  });

  it("is refused with INTROSPECTION=false", async () => {
    const closed = createGateway({
      database: testDatabase.database,
      config: loadConfig({ LOG_LEVEL: "silent", INTROSPECTION: "false" }),
    });
    const response = await introspect(closed);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { data?: unknown; errors: { message: string }[] };
    expect(body.data).toBeUndefined();
    expect(body.errors[0]?.message).toMatch(/introspection/i);
  });
});

describe("CSRF prevention", () => {
  const query = encodeURIComponent("{ apiVersion }");

  it("refuses a GET query without a preflight-forcing header with CSRF_HEADER_REQUIRED", async () => {
    const response = await gateway.fetch(`http://gateway.test/graphql?query=${query}`, {
      headers: { accept: "application/json" },
    });
    expect(response.status).toBe(403);
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe("CSRF_HEADER_REQUIRED");
  });

  it("names the same three headers in Czech as in English", async () => {
    const refusal = async (language: string) => {
      const response = await gateway.fetch(`http://gateway.test/graphql?query=${query}`, {
        headers: { accept: "application/json", "accept-language": language },
      });
      return ((await response.json()) as { errors: { message: string }[] }).errors[0]?.message ?? "";
    };
    const headers = ["x-graphql-yoga-csrf", "graphql-require-preflight", "apollo-require-preflight"];
    for (const language of ["en", "cs"]) {
      const message = (await refusal(language)).toLowerCase();
      expect({ language, named: headers.filter((header) => message.includes(header)) }).toEqual({
        language,
        named: headers,
      });
    }
  });

  it("refuses a form-encoded POST, which a cross-site form could send", async () => {
    const response = await gateway.fetch("http://gateway.test/graphql", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `query=${query}`,
    });
    expect(response.status).toBe(403);
  });

  it("accepts a GET query with the header, and JSON POSTs without it", async () => {
    const get = await gateway.fetch(`http://gateway.test/graphql?query=${query}`, {
      headers: { accept: "application/json", "graphql-require-preflight": "1", ...authorization },
    });
    expect(get.status).toBe(200);
    const post = await gateway.fetch("http://gateway.test/graphql", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ query: "{ apiVersion }" }),
    });
    expect(post.status).toBe(200);
  });

  it("can be turned off with CSRF_PREVENTION=false", async () => {
    const open = createGateway({
      database: testDatabase.database,
      config: loadConfig({ LOG_LEVEL: "silent", CSRF_PREVENTION: "false" }),
    });
    const response = await open.fetch(`http://gateway.test/graphql?query=${query}`, {
      headers: { accept: "application/json", ...authorization },
    });
    expect(response.status).toBe(200);
  });
});

describe("CORS", () => {
  const preflight = (target: Gateway, origin: string) =>
    target.fetch("http://gateway.test/graphql", {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });

  it("allows no other origin by default", async () => {
    const response = await preflight(gateway, "https://evil.example");
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("allows exactly the origins in CORS_ORIGINS", async () => {
    const allowing = createGateway({
      database: testDatabase.database,
      config: loadConfig({ LOG_LEVEL: "silent", CORS_ORIGINS: "https://admin.example.com, https://shop.example.com" }),
    });
    const allowed = await preflight(allowing, "https://shop.example.com");
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://shop.example.com");
    expect(allowed.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    const other = await preflight(allowing, "https://evil.example");
    // Yoga answers a literal "null" origin, which no page's origin matches.
    expect([null, "null"]).toContain(other.headers.get("access-control-allow-origin"));
  });
});
