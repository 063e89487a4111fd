// `node` and `nodes` as Relay clients use them: the same global ID asked for twice in one request (two
// aliases, or `node` beside `nodes`) answers the same object each time, never null; and inside a mutation,
// a later payload's `query { node(...) }` shows what the earlier fields wrote, like every other read.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiFixture, type ApiFixture } from "../support/api.ts";

let api: ApiFixture;
let customer: string;
let account: string;

beforeAll(async () => {
  api = await createApiFixture();
  customer = await api.createCustomer("CUST-NODES");
  account = await api.openAccount(customer, { name: "Nodes" });
  await api.data(`mutation ($input: DepositInput!) { deposit(input: $input) { userErrors { code } } }`, {
    input: { accountId: account, amount: "100" },
  });
});

afterAll(async () => {
  await api?.drop();
});

describe("the same global ID twice in one request", () => {
  it("answers the same object for each alias, for node and nodes alike, in either order", async () => {
    const body = await api.graphql(
      `query ($a: ID!, $c: ID!) {
        x: node(id: $a) { id ... on CreditAccount { balance } }
        y: node(id: $a) { id ... on CreditAccount { name } }
        z: nodes(ids: [$a, $c, $a]) { id }
        w: node(id: $c) { id ... on Customer { externalId } }
        v: nodes(ids: [$c]) { id }
      }`,
      { a: account, c: customer },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({
      x: { id: account, balance: "100" },
      y: { id: account, name: "Nodes" },
      z: [{ id: account }, { id: customer }, { id: account }],
      w: { id: customer, externalId: "CUST-NODES" },
      v: [{ id: customer }],
    });
  });
});

describe("node inside a mutation's payload", () => {
  it("shows what the earlier mutation fields of the request wrote", async () => {
    const payload =
      "accounts { balance sequence } query { node(id: $a) { ... on CreditAccount { balance sequence } } }";
    const data = await api.data(
      `mutation ($a: ID!) {
        first: reduce(input: { accountId: $a, amount: "10" }) { ${payload} }
        second: reduce(input: { accountId: $a, amount: "1" }) { ${payload} }
      }`,
      { a: account },
    );
    // Each payload's refetch through `query` sees its own write, and so the one before it.
    expect(data.first.query.node).toEqual(data.first.accounts[0]);
    expect(data.second.query.node).toEqual(data.second.accounts[0]);
    expect(data.second.accounts[0].balance).toBe("89");
  });
});
