// OpenTelemetry tracing (TRACING=true), read back from an in-memory exporter: a GraphQL request is one trace
// of a server span (with the request id), parse, validate and execute spans, and one span per SQL statement
// on either engine; no span carries the key, variables, document text, SQL parameters or personal data; and
// a gateway and database without tracing record nothing.
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.ts";
import { requestIdAttribute, startTracing, type Tracing } from "../../src/server/observability/tracing.ts";
import { createGateway, type Gateway } from "../../src/server/yoga.ts";
import { createTenantKey } from "../support/api.ts";
import { createTestDatabase, type TestDatabase, testEngine } from "../support/database.ts";

const exporter = new InMemorySpanExporter();
const config = loadConfig({ LOG_LEVEL: "silent" });
let tracing: Tracing;
let traced: TestDatabase;
let untraced: TestDatabase;
let gateway: Gateway;
let key: string;
let untracedKey: string;

beforeAll(async () => {
  tracing = startTracing({ exporter });
  traced = await createTestDatabase({ tracer: tracing.tracer });
  untraced = await createTestDatabase();
  gateway = createGateway({ database: traced.database, config, tracing });
  key = await createTenantKey(traced.database);
  untracedKey = await createTenantKey(untraced.database);
});

afterAll(async () => {
  await traced?.drop();
  await untraced?.drop();
  await tracing?.shutdown();
});

beforeEach(() => exporter.reset());

async function post(target: Gateway, body: unknown, headers: Record<string, string>): Promise<Response> {
  return target.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json", ...headers },
    body: JSON.stringify(body),
  });
}

const spanId = (span: ReadableSpan) => span.spanContext().spanId;
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const only = (spans: ReadableSpan[], name: string) => {
  const found = spans.filter((span) => span.name === name);
  expect(found.map((span) => span.name)).toEqual([name]);
  return found[0]!;
};

const customer = { externalId: "CUST-SECRET-4711", name: "Jana Tajná", email: "jana.tajna@example.com" };
const createCustomer = `mutation CreateCustomer($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id } userErrors { code } }
}`;

describe("tracing", () => {
  it("records one trace per request: server span with the request id, parse, validate, execute, and each statement", async () => {
    const response = await post(
      gateway,
      { query: createCustomer, variables: { input: customer } },
      { authorization: `Bearer ${key}`, "x-request-id": "trace-test-1" },
    );
    expect(response.status).toBe(200);
    expect(((await response.json()) as { errors?: unknown }).errors).toBeUndefined();
    const spans = exporter.getFinishedSpans();

    const request = only(spans, "POST /graphql");
    expect(request.attributes).toMatchObject({
      [requestIdAttribute]: "trace-test-1",
      "http.request.method": "POST",
      "url.path": "/graphql",
      "http.response.status_code": 200,
    });
    expect(request.parentSpanContext).toBeUndefined();
    const traceId = request.spanContext().traceId;
    expect(spans.every((span) => span.spanContext().traceId === traceId)).toBe(true);

    expect(parentOf(only(spans, "graphql.parse"))).toBe(spanId(request));
    expect(parentOf(only(spans, "graphql.validate"))).toBe(spanId(request));
    const execute = only(spans, "mutation.CreateCustomer");
    expect(parentOf(execute)).toBe(spanId(request));
    expect(execute.attributes).toMatchObject({
      "graphql.execute.operationName": "CreateCustomer",
      "graphql.execute.operationType": "mutation",
    });

    const statements = spans.filter((span) => span.attributes["db.system.name"] !== undefined);
    expect(
      statements.every(
        (span) => span.attributes["db.system.name"] === (testEngine === "postgres" ? "postgresql" : "sqlite"),
      ),
    ).toBe(true);
    // The key's lookup runs before execution, in the request's span; the customer's insert runs in execution.
    const keyLookup = statements.find((span) => /api_key/i.test(String(span.attributes["db.query.text"])));
    expect(keyLookup && parentOf(keyLookup)).toBe(spanId(request));
    const insert = statements.find(
      (span) => span.name === "INSERT" && /customer/i.test(String(span.attributes["db.query.text"])),
    );
    expect(insert).toBeDefined();
    const ancestors = new Set([spanId(execute), ...statements.map(spanId)]);
    expect(ancestors.has(parentOf(insert!)!)).toBe(true);
    expect(statements.every((span) => span.attributes["db.operation.name"] === span.name)).toBe(true);
  });

  it("never records the key, variables, document text, SQL parameters or personal data", async () => {
    const inline = `mutation Inline { createCustomer(input: { externalId: "CUST-INLINE-0815", name: "Petr Skrytý" }) { customer { id } } }`;
    await post(
      gateway,
      { query: createCustomer, variables: { input: { ...customer, externalId: "CUST-SECRET-4712" } } },
      {
        authorization: `Bearer ${key}`,
      },
    );
    await post(gateway, { query: inline }, { authorization: `Bearer ${key}` });
    const spans = exporter.getFinishedSpans();
    expect(spans.filter((span) => span.name.startsWith("mutation.")).map((span) => span.name)).toEqual([
      "mutation.CreateCustomer",
      "mutation.Inline",
    ]);
    const recorded = JSON.stringify(
      spans.map((span) => ({ name: span.name, attributes: span.attributes, events: span.events })),
    );
    for (const secret of [key, "CUST-SECRET", "CUST-INLINE", "Tajná", "Skrytý", "jana.tajna", "Bearer"]) {
      expect(recorded).not.toContain(secret);
    }
    expect(recorded).toContain("db.query.text");
  });

  it("traces no health check, and marks a refused request with its status", async () => {
    await gateway.fetch("http://gateway.test/health");
    expect(exporter.getFinishedSpans()).toEqual([]);
    const refused = await post(gateway, { query: "{ apiVersion }" }, {});
    expect(refused.status).toBe(401);
    expect(only(exporter.getFinishedSpans(), "POST /graphql").attributes["http.response.status_code"]).toBe(401);
  });

  it("records nothing for a gateway and database without tracing", async () => {
    const plain = createGateway({ database: untraced.database, config });
    const response = await post(
      plain,
      { query: createCustomer, variables: { input: customer } },
      { authorization: `Bearer ${untracedKey}` },
    );
    expect(response.status).toBe(200);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
