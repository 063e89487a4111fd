// API fixtures for tests that go through the gateway the way a client does: a fresh database, a ledger on a
// clock the test moves, a tenant in Europe/Prague with an API key, and a `graphql` helper that sends a request
// through `gateway.fetch` and returns the parsed response. The helpers that create customers, accounts, stores
// and partners use the API's own mutations, so that a fixture never reaches past the API into the ledger.
import { expect } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.ts";
import { loadConfig } from "../../src/config/config.ts";
import type { Database } from "../../src/db/client.ts";
import { createLedger, type Ledger } from "../../src/ledger/index.ts";
import { createGateway, type Gateway } from "../../src/server/yoga.ts";
import { createTestDatabase, type TestDatabase } from "./database.ts";
import { snapshot } from "./ledger.ts";

/** A GraphQL error as the response carries it. */
export interface GraphQLErrorBody {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; field?: string; [key: string]: unknown };
}

export interface GraphQLBody<T = any> {
  data?: T | null;
  errors?: GraphQLErrorBody[];
}

export interface RequestOptions {
  /** The Accept-Language header; omitted when not given. */
  language?: string;
  /** The API key; the fixture's own when not given, none at all when null. */
  key?: string | null;
  /** How the key travels: `Authorization: Bearer` (the default) or `X-Api-Key`. */
  keyHeader?: "bearer" | "x-api-key";
}

export interface UserErrorBody {
  code: string;
  field: string[] | null;
  message: string;
}

export interface TenantHandle {
  tenantId: string;
  /** The secret of a read-and-write API key of the tenant. */
  key: string;
  apiKeyId: string;
}

export interface ApiFixture extends TenantHandle {
  testDatabase: TestDatabase;
  database: Database;
  ledger: Ledger;
  gateway: Gateway;
  /** The ledger's current time; move it with `advance`. */
  now(): Date;
  advance(milliseconds: number): void;
  /** Sends one GraphQL request through the gateway and returns the parsed JSON body. */
  graphql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    options?: RequestOptions,
  ): Promise<GraphQLBody<T>>;
  /** Like `graphql`, but fails the test on any top-level error and returns `data`. */
  data<T = any>(query: string, variables?: Record<string, unknown>, options?: RequestOptions): Promise<T>;
  /** Another tenant on the same database, with its own API key. */
  createTenant(name: string, options?: { timeZone?: string; defaultLocale?: string }): Promise<TenantHandle>;
  /** Global ID of a new customer. */
  createCustomer(externalId: string, options?: { name?: string; key?: string }): Promise<string>;
  /** Global ID of a new credit account of the customer. */
  openAccount(
    customerId: string,
    options?: { currency?: string; name?: string; overdraftLimit?: string; key?: string },
  ): Promise<string>;
  createStore(name: string, options?: { externalId?: string; key?: string }): Promise<string>;
  createPartner(name: string, options?: { externalId?: string; key?: string }): Promise<string>;
  /** Every row of every ledger table, to prove that a refused request wrote nothing. */
  snapshot(): Promise<string>;
  drop(): Promise<void>;
}

/** The moment the ledger's clock starts at: winter time in Prague (+01:00). */
export const apiStartOfTest = new Date("2026-03-01T10:00:00.000Z");

const config = loadConfig({ LOG_LEVEL: "silent" });

export async function createApiFixture(options: { defaultLocale?: string } = {}): Promise<ApiFixture> {
  const testDatabase = await createTestDatabase();
  const database = testDatabase.database;
  let current = apiStartOfTest.getTime();
  const ledger = createLedger(database, { clock: () => new Date(current) });
  const gateway = createGateway({ database, ledger, config });

  const createTenant = async (name: string, tenantOptions: { timeZone?: string; defaultLocale?: string } = {}) => {
    const result = await ledger.createTenant({
      name,
      timeZone: tenantOptions.timeZone ?? "Europe/Prague",
      defaultLocale: tenantOptions.defaultLocale ?? "en",
    });
    if (!result.ok) throw new Error(`Could not create a tenant: ${result.error.message}`);
    const { apiKey, secret } = await createApiKey(database, {
      tenantId: result.tenant.id,
      name: `${name} key`,
      scopes: ["read", "write"],
    });
    return { tenantId: result.tenant.id, key: secret, apiKeyId: apiKey.id };
  };

  const own = await createTenant("Parity tenant", { defaultLocale: options.defaultLocale ?? "en" });

  const graphql = async <T>(
    query: string,
    variables: Record<string, unknown> = {},
    request: RequestOptions = {},
  ): Promise<GraphQLBody<T>> => {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/graphql-response+json, application/json",
    };
    const key = request.key === undefined ? own.key : request.key;
    if (key !== null) {
      if (request.keyHeader === "x-api-key") headers["x-api-key"] = key;
      else headers.authorization = `Bearer ${key}`;
    }
    if (request.language !== undefined) headers["accept-language"] = request.language;
    const response = await gateway.fetch("http://gateway.test/graphql", {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as GraphQLBody<T>;
  };

  const data = async <T>(query: string, variables?: Record<string, unknown>, request?: RequestOptions): Promise<T> => {
    const body = await graphql<T>(query, variables, request);
    // Comparing with undefined shows the errors themselves when the assertion fails.
    expect(body.errors).toBeUndefined();
    return body.data as T;
  };

  /** Runs a creating mutation and returns the created object's ID, failing on any user error. */
  const created = async (
    query: string,
    field: string,
    object: string,
    input: Record<string, unknown>,
    key?: string,
  ) => {
    const result = await data<Record<string, { userErrors: UserErrorBody[] } & Record<string, { id: string }>>>(
      query,
      { input },
      { key },
    );
    const payload = result[field]!;
    expect(payload.userErrors).toEqual([]);
    return payload[object]!.id;
  };

  return {
    ...own,
    testDatabase,
    database,
    ledger,
    gateway,
    now: () => new Date(current),
    advance: (milliseconds) => {
      current += milliseconds;
    },
    graphql,
    data,
    createTenant,
    createCustomer: (externalId, { name = "Jana Nováková", key } = {}) =>
      created(
        "mutation ($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } userErrors { code field message } } }",
        "createCustomer",
        "customer",
        { externalId, name },
        key,
      ),
    openAccount: (customerId, { currency = "PTS", name = "Body", overdraftLimit, key } = {}) =>
      created(
        "mutation ($input: OpenCreditAccountInput!) { openCreditAccount(input: $input) { account { id } userErrors { code field message } } }",
        "openCreditAccount",
        "account",
        { customerId, currency, name, ...(overdraftLimit === undefined ? {} : { overdraftLimit }) },
        key,
      ),
    createStore: (name, { externalId, key } = {}) =>
      created(
        "mutation ($input: CreateStoreInput!) { createStore(input: $input) { store { id } userErrors { code field message } } }",
        "createStore",
        "store",
        { name, externalId },
        key,
      ),
    createPartner: (name, { externalId, key } = {}) =>
      created(
        "mutation ($input: CreatePartnerInput!) { createPartner(input: $input) { partner { id } userErrors { code field message } } }",
        "createPartner",
        "partner",
        { name, externalId },
        key,
      ),
    snapshot: () => snapshot(database),
    drop: () => testDatabase.drop(),
  };
}

/**
 * A tenant on the database and the secret of a read-and-write API key of it, for tests that build their own
 * gateway: every GraphQL request needs a valid key.
 */
export async function createTenantKey(database: Database, name = "Test tenant", defaultLocale = "en"): Promise<string> {
  const result = await createLedger(database).createTenant({ name, timeZone: "Europe/Prague", defaultLocale });
  if (!result.ok) throw new Error(`Could not create a tenant: ${result.error.message}`);
  return (await createApiKey(database, { tenantId: result.tenant.id, name: `${name} key`, scopes: ["read", "write"] }))
    .secret;
}
