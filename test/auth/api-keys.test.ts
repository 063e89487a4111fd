// API keys through the gateway, on both engines: both headers, expiry and revocation (UNAUTHENTICATED from
// that moment on), the last use recorded at most once a minute, only a hash stored, and the key recorded as
// the initiator of what it writes unless the caller names a user.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apiKeyCacheMs,
  authenticate,
  createApiKey,
  lastUseResolutionMs,
  listApiKeys,
  revokeApiKey,
} from "../../src/auth/api-keys.ts";
import { openDatabase } from "../../src/db/client.ts";
import { createLedger } from "../../src/ledger/index.ts";
import { decodeId } from "../../src/schema/ids.ts";
import { createApiFixture, type ApiFixture } from "../support/api.ts";
import { createTestDatabase } from "../support/database.ts";

let fixture: ApiFixture;
let accountId: string;

beforeAll(async () => {
  fixture = await createApiFixture();
  accountId = await fixture.openAccount(await fixture.createCustomer("CUST-1"));
});

afterAll(async () => {
  await fixture?.drop();
});

const storesQuery = "{ stores { edges { cursor } } }";

async function codeFor(key: string | null, keyHeader?: "bearer" | "x-api-key"): Promise<string | undefined> {
  const body = await fixture.graphql(storesQuery, {}, { key, keyHeader });
  return body.errors?.[0]?.extensions?.code;
}

async function keyRow(id: string) {
  return fixture.database.read.apiKey.findUniqueOrThrow({ where: { id } });
}

describe("presenting a key", () => {
  it("works as Authorization: Bearer and as X-Api-Key", async () => {
    expect(await codeFor(fixture.key, "bearer")).toBeUndefined();
    expect(await codeFor(fixture.key, "x-api-key")).toBeUndefined();
  });

  it("answers UNAUTHENTICATED without a key, with an unknown key and with a malformed one", async () => {
    expect(await codeFor(null)).toBe("UNAUTHENTICATED");
    expect(await codeFor(`${fixture.key.slice(0, -4)}AAAA`)).toBe("UNAUTHENTICATED");
    expect(await codeFor("not-a-key")).toBe("UNAUTHENTICATED");
    const body = await fixture.graphql(storesQuery, {}, { key: null, language: "cs" });
    expect(body.errors?.[0]?.message).toMatch(/platný API klíč/);
  });
});

describe("storage", () => {
  it("keeps only the SHA-256 of the key and a prefix, never the key itself", async () => {
    const { apiKey, secret } = await createApiKey(fixture.database, {
      tenantId: fixture.tenantId,
      name: "stored",
      scopes: ["write", "read", "read"],
    });
    const row = await keyRow(apiKey.id);
    expect(row.secretHash).toBe(createHash("sha256").update(secret).digest("hex"));
    expect(secret.startsWith(`${row.prefix}_`)).toBe(true);
    expect(JSON.stringify(row)).not.toContain(secret.slice(row.prefix.length + 1));
    expect(row.scopes).toBe("read write");
    const listed = await listApiKeys(fixture.database, fixture.tenantId);
    expect(listed.find((key) => key.id === apiKey.id)).not.toHaveProperty("secretHash");
  });
});

describe("expiry", () => {
  it("a key works until its expiry and answers UNAUTHENTICATED from that moment", async () => {
    const expiresAt = new Date(fixture.now().getTime() + 60 * 60 * 1000);
    const { secret } = await createApiKey(fixture.database, {
      tenantId: fixture.tenantId,
      name: "short-lived",
      scopes: ["read"],
      expiresAt,
    });
    expect(await codeFor(secret)).toBeUndefined();
    fixture.advance(60 * 60 * 1000 - 1);
    expect(await codeFor(secret)).toBeUndefined();
    fixture.advance(1);
    expect(await codeFor(secret)).toBe("UNAUTHENTICATED");
    expect(await authenticate(fixture.database, secret, fixture.now())).toBeNull();
    // The fixture's own key does not expire.
    expect(await codeFor(fixture.key)).toBeUndefined();
  });
});

describe("revocation", () => {
  it("a key revoked by another process (the keys CLI, another instance) is refused here within apiKeyCacheMs", async () => {
    const { apiKey, secret } = await createApiKey(fixture.database, {
      tenantId: fixture.tenantId,
      name: "elsewhere",
      scopes: ["read"],
    });
    expect(await codeFor(secret)).toBeUndefined();
    // Another process has its own connection and its own memory: a second database handle on the same data.
    const other = await openDatabase(fixture.testDatabase.url);
    try {
      await revokeApiKey(other, apiKey.id, fixture.now());
    } finally {
      await other.close();
    }
    // This process read the key less than apiKeyCacheMs ago, so it may still accept it...
    fixture.advance(apiKeyCacheMs - 1);
    expect(await codeFor(secret)).toBeUndefined();
    // ...and from then on it never does.
    fixture.advance(1);
    expect(await codeFor(secret)).toBe("UNAUTHENTICATED");
    expect(await authenticate(fixture.database, secret, fixture.now())).toBeNull();
  });

  it("a revoked key answers UNAUTHENTICATED at once, by id or by prefix, and revoking twice changes nothing", async () => {
    const first = await createApiKey(fixture.database, {
      tenantId: fixture.tenantId,
      name: "by id",
      scopes: ["read", "write"],
    });
    const second = await createApiKey(fixture.database, {
      tenantId: fixture.tenantId,
      name: "by prefix",
      scopes: ["read"],
    });
    expect(await codeFor(first.secret)).toBeUndefined();
    expect(await codeFor(second.secret, "x-api-key")).toBeUndefined();

    const byId = await revokeApiKey(fixture.database, first.apiKey.id, fixture.now());
    expect(byId).toMatchObject({ outcome: "revoked", apiKey: { id: first.apiKey.id, revokedAt: fixture.now() } });
    expect(await codeFor(first.secret)).toBe("UNAUTHENTICATED");
    expect(await codeFor(second.secret)).toBeUndefined();

    expect(await revokeApiKey(fixture.database, second.apiKey.prefix, fixture.now())).toMatchObject({
      outcome: "revoked",
    });
    expect(await codeFor(second.secret, "x-api-key")).toBe("UNAUTHENTICATED");

    const revokedAt = (await keyRow(first.apiKey.id)).revokedAt;
    fixture.advance(5_000);
    expect(await revokeApiKey(fixture.database, first.apiKey.id, fixture.now())).toMatchObject({
      outcome: "already-revoked",
    });
    expect((await keyRow(first.apiKey.id)).revokedAt).toEqual(revokedAt);
    expect(await revokeApiKey(fixture.database, "clk_nosuchkey", fixture.now())).toEqual({ outcome: "not-found" });
    expect(await revokeApiKey(fixture.database, "", fixture.now())).toEqual({ outcome: "not-found" });
  });

  it("a revoked key writes nothing", async () => {
    const { apiKey, secret } = await createApiKey(fixture.database, {
      tenantId: fixture.tenantId,
      name: "gone",
      scopes: ["read", "write"],
    });
    await revokeApiKey(fixture.database, apiKey.id, fixture.now());
    const before = await fixture.snapshot();
    const body = await fixture.graphql(
      "mutation ($input: DepositInput!) { deposit(input: $input) { action { id } } }",
      { input: { accountId, amount: "5" } },
      { key: secret },
    );
    expect(body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(await fixture.snapshot()).toBe(before);
  });
});

describe("last use", () => {
  it("is recorded on first use and then at most once a minute", async () => {
    const { apiKey, secret } = await createApiKey(fixture.database, {
      tenantId: fixture.tenantId,
      name: "counted",
      scopes: ["read"],
    });
    expect((await keyRow(apiKey.id)).lastUsedAt).toBeNull();

    const first = fixture.now();
    expect(await codeFor(secret)).toBeUndefined();
    expect((await keyRow(apiKey.id)).lastUsedAt).toEqual(first);

    // Within the minute, further requests write nothing.
    fixture.advance(30_000);
    expect(await codeFor(secret)).toBeUndefined();
    fixture.advance(lastUseResolutionMs - 30_000 - 1);
    expect(await codeFor(secret, "x-api-key")).toBeUndefined();
    expect((await keyRow(apiKey.id)).lastUsedAt).toEqual(first);

    // A minute after the recorded use, the next request records itself.
    fixture.advance(1);
    expect(await codeFor(secret)).toBeUndefined();
    expect((await keyRow(apiKey.id)).lastUsedAt).toEqual(fixture.now());
  });

  it("is written once for a burst of concurrent requests", async () => {
    // A database of its own, to count the statements that write the key.
    const updates: string[] = [];
    const counted = await createTestDatabase({
      onQuery: ({ query }) => void (/^UPDATE\b.*api_key/is.test(query) && updates.push(query)),
    });
    try {
      const tenant = await createLedger(counted.database).createTenant({ name: "Burst" });
      if (!tenant.ok) throw new Error(tenant.error.message);
      const { apiKey, secret } = await createApiKey(counted.database, {
        tenantId: tenant.tenant.id,
        name: "burst",
        scopes: ["read"],
      });
      const now = new Date("2026-03-01T10:00:00.000Z");
      const callers = await Promise.all(Array.from({ length: 10 }, () => authenticate(counted.database, secret, now)));
      expect(callers.every((caller) => caller?.apiKey.id === apiKey.id)).toBe(true);
      expect(updates).toHaveLength(1);
      await authenticate(counted.database, secret, new Date(now.getTime() + lastUseResolutionMs));
      expect(updates).toHaveLength(2);
    } finally {
      await counted.drop();
    }
  });

  it("is not recorded for a revoked or expired key", async () => {
    const { apiKey, secret } = await createApiKey(fixture.database, {
      tenantId: fixture.tenantId,
      name: "expiring",
      scopes: ["read"],
      expiresAt: new Date(fixture.now().getTime() + 1000),
    });
    fixture.advance(1000);
    expect(await codeFor(secret)).toBe("UNAUTHENTICATED");
    expect((await keyRow(apiKey.id)).lastUsedAt).toBeNull();
  });
});

describe("the initiator of an action", () => {
  const deposit = `mutation ($input: DepositInput!) {
    deposit(input: $input) { action { id initiator { type id } } userErrors { code } }
  }`;

  async function depositWith(key: string, initiator?: Record<string, unknown>) {
    const data = await fixture.data(
      deposit,
      { input: { accountId, amount: "1", ...(initiator ? { initiator } : {}) } },
      { key },
    );
    expect(data.deposit.userErrors).toEqual([]);
    const actionId = decodeId(data.deposit.action.id, "CreditAction") as string;
    const row = await fixture.database.read.creditAction.findUniqueOrThrow({ where: { id: actionId } });
    return { initiator: data.deposit.action.initiator, apiKeyId: row.apiKeyId };
  }

  it("is the API key that sent the request, unless the request names a user", async () => {
    expect(await depositWith(fixture.key)).toEqual({
      initiator: { type: "API_KEY", id: fixture.apiKeyId },
      apiKeyId: fixture.apiKeyId,
    });

    // Another key of the same tenant is recorded as itself, not as the tenant's first key.
    const other = await createApiKey(fixture.database, {
      tenantId: fixture.tenantId,
      name: "till 2",
      scopes: ["read", "write"],
    });
    expect(await depositWith(other.secret)).toEqual({
      initiator: { type: "API_KEY", id: other.apiKey.id },
      apiKeyId: other.apiKey.id,
    });

    // A named user is the initiator; the key that carried the request is still recorded on the action.
    expect(await depositWith(fixture.key, { type: "USER", id: "clerk-17" })).toEqual({
      initiator: { type: "USER", id: "clerk-17" },
      apiKeyId: fixture.apiKeyId,
    });
    expect(await depositWith(other.secret, { type: "SYSTEM" })).toEqual({
      initiator: { type: "SYSTEM", id: null },
      apiKeyId: other.apiKey.id,
    });
    // API_KEY names the calling key, with its own id or without one.
    expect(await depositWith(other.secret, { type: "API_KEY" })).toEqual({
      initiator: { type: "API_KEY", id: other.apiKey.id },
      apiKeyId: other.apiKey.id,
    });
    expect(await depositWith(other.secret, { type: "API_KEY", id: other.apiKey.id })).toEqual({
      initiator: { type: "API_KEY", id: other.apiKey.id },
      apiKeyId: other.apiKey.id,
    });
  });

  describe("naming another key as the API_KEY initiator", () => {
    let grantId: string;
    let actionId: string;
    let holdId: string;
    let otherAccountId: string;

    beforeAll(async () => {
      otherAccountId = await fixture.openAccount(await fixture.createCustomer("CUST-INITIATOR"));
      const deposited = await fixture.data(
        `mutation ($a: ID!) { deposit(input: { accountId: $a, amount: "50" }) { action { id grant { id } } } }`,
        { a: accountId },
      );
      actionId = deposited.deposit.action.id;
      grantId = deposited.deposit.action.grant.id;
      const held = await fixture.data(
        `mutation ($a: ID!) { authorizeHold(input: { accountId: $a, amount: "5" }) { hold { id } } }`,
        { a: accountId },
      );
      holdId = held.authorizeHold.hold.id;
    });

    // Every write that takes `initiator`, as a mutation and as a batch item, with an input that is otherwise
    // valid: the refusal is the initiator's and no other.
    const writes: [string, string, () => Record<string, unknown>][] = [
      ["deposit", "DepositInput", () => ({ accountId, amount: "1" })],
      ["createCreditGrant", "CreateCreditGrantInput", () => ({ accountId, amount: "1" })],
      ["reduce", "ReduceInput", () => ({ accountId, amount: "1" })],
      [
        "transfer",
        "TransferInput",
        () => ({ sourceAccountId: accountId, targetAccountId: otherAccountId, amount: "1" }),
      ],
      ["voidCreditGrant", "VoidCreditGrantInput", () => ({ grantId })],
      [
        "changeCreditGrantExpiry",
        "ChangeCreditGrantExpiryInput",
        () => ({ grantId, expiresAt: "2030-01-01 00:00:00" }),
      ],
      ["reverseCreditAction", "ReverseCreditActionInput", () => ({ actionId })],
      ["authorizeHold", "AuthorizeHoldInput", () => ({ accountId, amount: "1" })],
      ["captureHold", "CaptureHoldInput", () => ({ holdId })],
      ["releaseHold", "ReleaseHoldInput", () => ({ holdId })],
    ];
    for (const [mutation, inputType, input] of writes) {
      it(`${mutation} refuses it with INVALID_INITIATOR and writes nothing`, async () => {
        const before = await fixture.snapshot();
        const body = await fixture.graphql(
          `mutation ($input: ${inputType}!) { ${mutation}(input: $input) { userErrors { code field message } } }`,
          { input: { ...input(), initiator: { type: "API_KEY", id: "another-key" } } },
        );
        expect(body.errors).toBeUndefined();
        expect(body.data[mutation].userErrors).toEqual([
          {
            code: "INVALID_INITIATOR",
            field: ["input", "initiator", "id"],
            message:
              "An API_KEY initiator is always the API key that sends the request; omit the id, or send that key's own id.",
          },
        ]);
        expect(await fixture.snapshot()).toBe(before);
      });
    }

    it("a batch refuses it in any item, naming the item, and writes nothing", async () => {
      const items = [
        { deposit: { accountId, amount: "1" } },
        { reduce: { accountId, amount: "1" } },
        { transfer: { sourceAccountId: accountId, targetAccountId: otherAccountId, amount: "1" } },
        { authorizeHold: { accountId, amount: "1" } },
        { captureHold: { holdId } },
        { releaseHold: { holdId } },
      ];
      for (const [index, item] of items.entries()) {
        const [operation, fields] = Object.entries(item)[0] as [string, Record<string, unknown>];
        const before = await fixture.snapshot();
        const body = await fixture.graphql(
          `mutation ($items: [CreditBatchItemInput!]!) {
            applyCreditBatch(input: { items: $items }) { itemErrors { index } userErrors { code field message } }
          }`,
          { items: [{ [operation]: { ...fields, initiator: { type: "API_KEY", id: fixture.apiKeyId.slice(1) } } }] },
        );
        expect(body.errors, operation).toBeUndefined();
        expect(body.data.applyCreditBatch.itemErrors, operation).toEqual([{ index: 0 }]);
        expect(body.data.applyCreditBatch.userErrors, operation).toEqual([
          {
            code: "INVALID_INITIATOR",
            field: ["input", "items", "0", operation, "initiator", "id"],
            message: expect.stringMatching(/always the API key that sends the request/),
          },
        ]);
        expect(await fixture.snapshot(), `${index} ${operation}`).toBe(before);
      }
    });

    it("says so in Czech", async () => {
      const body = await fixture.graphql(
        `mutation ($input: DepositInput!) { deposit(input: $input) { userErrors { code message } } }`,
        { input: { accountId, amount: "1", initiator: { type: "API_KEY", id: "another-key" } } },
        { language: "cs" },
      );
      expect(body.data.deposit.userErrors).toEqual([
        { code: "INVALID_INITIATOR", message: expect.stringMatching(/^Iniciátorem typu API_KEY je vždy API klíč/) },
      ]);
    });
  });
});
