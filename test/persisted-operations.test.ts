// Trusted documents (a manifest of registered operations) and automatic persisted queries (APQ), through the
// gateway as a client sends them: a registered id runs, an unknown one is refused with a stable code, a
// document sent as text is refused when only registered ones are allowed (and then writes nothing), APQ
// registers a document with its hash and runs it by hash, a hash that does not match is refused, and the
// APQ cache is bounded.
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config/config.ts";
import { createGateway, type Gateway } from "../src/server/yoga.ts";
import { createTenantKey } from "./support/api.ts";
import { createTestDatabase, type TestDatabase } from "./support/database.ts";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const md5 = (text: string) => createHash("md5").update(text).digest("hex");

const storesQuery = "query Stores { stores(first: 10) { edges { node { name } } } }";
// Registered under an MD5 id, as Relay's compiler may write them: ids are names, not hashes to check.
const apiVersionQuery = "query ApiVersion { apiVersion }";
const createStore = 'mutation CreateStore { createStore(input: { name: "Unregistered" }) { store { id } } }';

let testDatabase: TestDatabase;
let key: string;
let directory: string;
let manifestFile: string;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  key = await createTenantKey(testDatabase.database);
  directory = await mkdtemp(path.join(tmpdir(), "persisted-"));
  manifestFile = path.join(directory, "persisted-documents.json");
  await writeFile(
    manifestFile,
    JSON.stringify({ [sha256(storesQuery)]: storesQuery, [md5(apiVersionQuery)]: apiVersionQuery }),
  );
});

afterAll(async () => {
  await testDatabase?.drop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

function gatewayWith(env: Record<string, string>): Gateway {
  return createGateway({ database: testDatabase.database, config: loadConfig({ LOG_LEVEL: "silent", ...env }) });
}

interface Reply {
  status: number;
  body: { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
}

async function send(
  gateway: Gateway,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const response = await gateway.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json",
      authorization: `Bearer ${key}`,
      ...headers,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Reply["body"] };
}

const byHash = (hash: string, extra: Record<string, unknown> = {}) => ({
  extensions: { persistedQuery: { version: 1, sha256Hash: hash } },
  ...extra,
});
const codeOf = (reply: Reply) => reply.body.errors?.[0]?.extensions?.code;

async function storeCount(): Promise<number> {
  return testDatabase.database.read.store.count();
}

describe("trusted documents only (ARBITRARY_OPERATIONS=false)", () => {
  let gateway: Gateway;
  beforeAll(() => {
    gateway = gatewayWith({ PERSISTED_OPERATIONS_FILE: manifestFile, ARBITRARY_OPERATIONS: "false" });
  });

  it("runs a registered document by its hash in extensions.persistedQuery", async () => {
    const reply = await send(gateway, byHash(sha256(storesQuery)));
    expect(reply.body).toEqual({ data: { stores: { edges: [] } }, extensions: expect.anything() });
    expect(reply.status).toBe(200);
  });

  it("runs a registered document by documentId, with or without the sha256: prefix, and by a non-SHA-256 id", async () => {
    for (const documentId of [sha256(storesQuery), `sha256:${sha256(storesQuery)}`]) {
      const reply = await send(gateway, { documentId });
      expect(reply.body.errors).toBeUndefined();
      expect(reply.body.data).toEqual({ stores: { edges: [] } });
    }
    const relay = await send(gateway, { documentId: md5(apiVersionQuery) });
    expect(relay.body.errors).toBeUndefined();
    expect(relay.body.data).toEqual({ apiVersion: expect.any(String) });
  });

  it("refuses an unknown id with PERSISTED_QUERY_NOT_FOUND (404), in the request's language", async () => {
    const reply = await send(gateway, byHash(sha256("query Unknown { apiVersion }")));
    expect(reply.status).toBe(404);
    expect(reply.body.data).toBeUndefined();
    expect(reply.body.errors).toEqual([
      { message: "PersistedQueryNotFound", extensions: { code: "PERSISTED_QUERY_NOT_FOUND" } },
    ]);
    const czech = await send(gateway, { documentId: "0".repeat(64) }, { "accept-language": "cs" });
    expect(codeOf(czech)).toBe("PERSISTED_QUERY_NOT_FOUND");
    expect(czech.body.errors?.[0]?.message).toMatch(/není registrován/);
  });

  it("refuses a document sent as text with PERSISTED_QUERY_ONLY (400) and writes nothing", async () => {
    const before = await storeCount();
    const reply = await send(gateway, { query: createStore });
    expect(reply.status).toBe(400);
    expect(codeOf(reply)).toBe("PERSISTED_QUERY_ONLY");
    expect(reply.body.errors?.[0]?.message).toMatch(/only registered documents/);
    expect(reply.body.data).toBeUndefined();
    expect(await storeCount()).toBe(before);
  });

  it("refuses an APQ registration, which would register an arbitrary document, and keeps refusing its hash", async () => {
    const before = await storeCount();
    const register = await send(gateway, byHash(sha256(createStore), { query: createStore }));
    expect(codeOf(register)).toBe("PERSISTED_QUERY_ONLY");
    const again = await send(gateway, byHash(sha256(createStore)));
    expect(codeOf(again)).toBe("PERSISTED_QUERY_NOT_FOUND");
    expect(await storeCount()).toBe(before);
  });

  it("refuses a request that names no document with PERSISTED_QUERY_ID_REQUIRED (400)", async () => {
    const reply = await send(gateway, { variables: {} });
    expect(reply.status).toBe(400);
    expect(codeOf(reply)).toBe("PERSISTED_QUERY_ID_REQUIRED");
  });
});

describe("trusted documents beside arbitrary ones and APQ", () => {
  let gateway: Gateway;
  beforeAll(() => {
    gateway = gatewayWith({ PERSISTED_OPERATIONS_FILE: manifestFile });
  });

  it("accepts a document sent as text", async () => {
    const reply = await send(gateway, { query: "query Version { apiVersion }" });
    expect(reply.body.errors).toBeUndefined();
    expect(reply.body.data).toEqual({ apiVersion: expect.any(String) });
  });

  it("runs manifest documents by id, a Relay MD5 id in the APQ extension included", async () => {
    expect((await send(gateway, byHash(sha256(storesQuery)))).body.data).toEqual({ stores: { edges: [] } });
    expect((await send(gateway, byHash(md5(apiVersionQuery)))).body.data).toEqual({ apiVersion: expect.any(String) });
  });

  it("registers a document by APQ, then runs it by hash alone", async () => {
    const query = "query Registered { apiVersion stores(first: 1) { edges { cursor } } }";
    const hash = sha256(query);
    expect(codeOf(await send(gateway, byHash(hash)))).toBe("PERSISTED_QUERY_NOT_FOUND");
    const register = await send(gateway, byHash(hash, { query }));
    expect(register.body.errors).toBeUndefined();
    const run = await send(gateway, byHash(hash));
    expect(run.body.errors).toBeUndefined();
    expect(run.body.data).toEqual(register.body.data);
  });

  it("refuses a registration whose hash is not the document's with PERSISTED_QUERY_MISMATCH, and keeps nothing", async () => {
    const before = await storeCount();
    const forged = sha256("query Other { apiVersion }");
    const reply = await send(gateway, byHash(forged, { query: createStore }));
    expect(reply.status).toBe(400);
    expect(codeOf(reply)).toBe("PERSISTED_QUERY_MISMATCH");
    expect(await storeCount()).toBe(before);
    expect(codeOf(await send(gateway, byHash(forged)))).toBe("PERSISTED_QUERY_NOT_FOUND");
  });
});

describe("APQ without a manifest (the default)", () => {
  it("registers, runs by hash, refuses a mismatch, and forgets the least recently used beyond APQ_CACHE_SIZE", async () => {
    const gateway = gatewayWith({ APQ_CACHE_SIZE: "1" });
    const first = "query First { apiVersion }";
    const second = "query Second { apiVersion }";
    expect(codeOf(await send(gateway, byHash(sha256(first))))).toBe("PERSISTED_QUERY_NOT_FOUND");
    expect((await send(gateway, byHash(sha256(first), { query: first }))).body.errors).toBeUndefined();
    expect((await send(gateway, byHash(sha256(first)))).body.data).toEqual({ apiVersion: expect.any(String) });
    expect(codeOf(await send(gateway, byHash(sha256(second), { query: first })))).toBe("PERSISTED_QUERY_MISMATCH");
    expect((await send(gateway, byHash(sha256(second), { query: second }))).body.errors).toBeUndefined();
    // The cache holds one document: registering the second dropped the first.
    expect(codeOf(await send(gateway, byHash(sha256(first))))).toBe("PERSISTED_QUERY_NOT_FOUND");
    expect((await send(gateway, byHash(sha256(second)))).body.data).toEqual({ apiVersion: expect.any(String) });
  });

  it("is off with APQ_CACHE_SIZE=0: a hash alone is not a document", async () => {
    const gateway = gatewayWith({ APQ_CACHE_SIZE: "0" });
    const query = "query Off { apiVersion }";
    expect((await send(gateway, byHash(sha256(query), { query }))).body.errors).toBeUndefined();
    const reply = await send(gateway, byHash(sha256(query)));
    expect(codeOf(reply)).toBe("BAD_REQUEST");
    expect(reply.body.data).toBeUndefined();
  });
});

describe("configuration", () => {
  it("refuses ARBITRARY_OPERATIONS=false without a manifest", () => {
    expect(() => loadConfig({ ARBITRARY_OPERATIONS: "false" })).toThrow(ConfigError);
    expect(() => loadConfig({ ARBITRARY_OPERATIONS: "false" })).toThrow(/needs PERSISTED_OPERATIONS_FILE/);
  });

  it("refuses to start on a manifest that is not JSON, not an object, or holds a document that does not parse", async () => {
    const cases: [string, RegExp][] = [
      ["{ not json", /cannot be read as JSON/],
      ['["query { apiVersion }"]', /must hold a JSON object/],
      ['{ "abc": 1 }', /the document of "abc" is not a string/],
      ['{ "abc": "query {" }', /the document of "abc" is not GraphQL/],
    ];
    for (const [text, problem] of cases) {
      const file = path.join(directory, "broken.json");
      await writeFile(file, text);
      expect(() => gatewayWith({ PERSISTED_OPERATIONS_FILE: file })).toThrow(problem);
    }
    expect(() => gatewayWith({ PERSISTED_OPERATIONS_FILE: path.join(directory, "missing.json") })).toThrow(
      /cannot be read/,
    );
  });
});
