// Several mutation fields in one document run one after the other, and each must see the ledger as the
// earlier ones left it: nothing a write could change may come from what an earlier field loaded (balances,
// customer totals, grants, histories and their counts, an action's reversal and allocations). The first
// field of each document below loads exactly what the second then changes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiFixture, type ApiFixture } from "../support/api.ts";

let fixture: ApiFixture;

beforeAll(async () => {
  fixture = await createApiFixture();
});

afterAll(async () => {
  await fixture?.drop();
});

const accountView = /* GraphQL */ `
  accounts {
    balance
    available
    grants { edges { node { remainingAmount state } } }
    history { totalCount edges { node { amount } } }
    customer {
      balances { currency balance available }
      accounts { balance }
      history { totalCount }
    }
  }
`;

describe("mutation fields in one document", () => {
  it("each deposit's payload shows the balances, totals, grants and histories after it", async () => {
    const accountId = await fixture.openAccount(await fixture.createCustomer("SERIAL-1"));
    const data = await fixture.data(
      `mutation($id: ID!) {
        first: deposit(input: { accountId: $id, amount: "10" }) { ${accountView} }
        second: deposit(input: { accountId: $id, amount: "5" }) { ${accountView} }
        third: reduce(input: { accountId: $id, amount: "3" }) { ${accountView} }
      }`,
      { id: accountId },
    );
    const expected = (balance: string, count: number, grants: string[]) => ({
      balance,
      available: balance,
      grants: { edges: grants.map((remainingAmount) => ({ node: { remainingAmount, state: "ACTIVE" } })) },
      history: { totalCount: count, edges: expect.any(Array) },
      customer: {
        balances: [{ currency: "PTS", balance, available: balance }],
        accounts: [{ balance }],
        history: { totalCount: count },
      },
    });
    expect(data.first.accounts).toEqual([expected("10", 1, ["10"])]);
    expect(data.second.accounts).toEqual([expected("15", 2, ["10", "5"])]);
    expect(data.third.accounts).toEqual([expected("12", 3, ["7", "5"])]);
    expect(data.third.accounts[0].history.edges.map((edge: { node: { amount: string } }) => edge.node.amount)).toEqual([
      "3",
      "5",
      "10",
    ]);
  });

  it("a reversal in a later field shows on the action and grant an earlier field loaded", async () => {
    const accountId = await fixture.openAccount(await fixture.createCustomer("SERIAL-2"));
    const deposited = await fixture.data(
      `mutation($id: ID!) { deposit(input: { accountId: $id, amount: "100" }) { action { id grant { id } } } }`,
      { id: accountId },
    );
    const actionId = deposited.deposit.action.id;
    const actionView = `id reversedBy { id } allocations { amount grant { remainingAmount state } } grant { remainingAmount state }`;
    const data = await fixture.data(
      `mutation($id: ID!, $action: ID!) {
        first: deposit(input: { accountId: $id, amount: "1" }) {
          accounts { history(last: 2) { edges { node { ${actionView} } } } }
        }
        second: reverseCreditAction(input: { actionId: $action }) {
          action { id reverses { ${actionView} } }
        }
      }`,
      { id: accountId, action: actionId },
    );
    const original = data.first.accounts[0].history.edges
      .map((edge: { node: { id: string } }) => edge.node)
      .find((node: { id: string }) => node.id === actionId);
    expect(original).toMatchObject({
      id: actionId,
      reversedBy: null,
      grant: { remainingAmount: "100", state: "ACTIVE" },
    });
    const reversed = data.second.action.reverses;
    expect(reversed).toMatchObject({
      id: actionId,
      reversedBy: { id: data.second.action.id },
      grant: { remainingAmount: "0", state: "DEPLETED" },
      allocations: [{ amount: "100", grant: { remainingAmount: "0", state: "DEPLETED" } }],
    });
  });
});
