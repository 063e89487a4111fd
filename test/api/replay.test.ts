// An idempotent replay answers what the original request was answered (as Stripe does): the action and each
// touched account's balance right after it, taken from the action's entries, however the accounts changed
// since. The SDL, the README and the code say the same.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiFixture, type ApiFixture } from "../support/api.ts";

let fixture: ApiFixture;
let source: string;
let target: string;

beforeAll(async () => {
  fixture = await createApiFixture();
  const customer = await fixture.createCustomer("CUST-1");
  source = await fixture.openAccount(customer, { name: "Source" });
  target = await fixture.openAccount(customer, { name: "Target" });
});

afterAll(async () => {
  await fixture?.drop();
});

const payload = "replayed action { id } accounts { id balance available } userErrors { code }";
const deposit = `mutation ($input: DepositInput!) { deposit(input: $input) { ${payload} } }`;
const transfer = `mutation ($input: TransferInput!) { transfer(input: $input) { ${payload} } }`;

describe("a replayed write", () => {
  it("returns the balances as they were right after the original action", async () => {
    const first = (
      await fixture.data(deposit, { input: { accountId: source, amount: "100", idempotencyKey: "dep-1" } })
    ).deposit;
    expect(first).toMatchObject({ replayed: false, accounts: [{ id: source, balance: "100", available: "100" }] });
    await fixture.data(deposit, { input: { accountId: source, amount: "50" } });

    const again = (
      await fixture.data(deposit, { input: { accountId: source, amount: "100", idempotencyKey: "dep-1" } })
    ).deposit;
    expect(again).toEqual({ ...first, replayed: true });

    const moved = (
      await fixture.data(transfer, {
        input: { sourceAccountId: source, targetAccountId: target, amount: "30", idempotencyKey: "tr-1" },
      })
    ).transfer;
    await fixture.data(deposit, { input: { accountId: target, amount: "7" } });
    const movedAgain = (
      await fixture.data(transfer, {
        input: { sourceAccountId: source, targetAccountId: target, amount: "30", idempotencyKey: "tr-1" },
      })
    ).transfer;
    expect(movedAgain).toEqual({ ...moved, replayed: true });
    const byId = Object.fromEntries(
      movedAgain.accounts.map((account: { id: string; balance: string }) => [account.id, account.balance]),
    );
    expect(byId).toEqual({ [source]: "120", [target]: "30" });

    // The accounts themselves, refetched, show today's balances.
    const now = await fixture.data("query ($ids: [ID!]!) { nodes(ids: $ids) { ... on CreditAccount { balance } } }", {
      ids: [source, target],
    });
    expect(now.nodes).toEqual([{ balance: "120" }, { balance: "37" }]);
  });

  it("is described alike in the SDL and the README", () => {
    const sdl = readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8");
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    expect(sdl).toMatch(/as they were right after the action/);
    expect(sdl).not.toMatch(/balances as they are now/);
    expect(readme.replace(/\s+/g, " ")).toMatch(/the balances as they were right after it/);
  });
});
