// The plumbing every mutation shares (src/schema/mutation.ts), through the real server: a global ID that is
// malformed or of the wrong type is refused as INVALID_ID on the input field that holds it, the ID fields
// are checked in the order the mutation declares them and before the write options, a refused payload has
// its empty values (action null, accounts [], replayed false), and nothing is written. The cases here are the
// mutations and fields the parity suite's table of typed errors does not already cover.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiFixture, createApiFixture, type UserErrorBody } from "../support/api.ts";

let api: ApiFixture;

beforeAll(async () => {
  api = await createApiFixture();
});

afterAll(async () => {
  await api?.drop();
});

/** Runs the mutation, expects exactly one user error with the code and field, and that nothing was written. */
async function refusedWith(mutation: string, input: Record<string, unknown>, field: string[], selection: string) {
  const before = await api.snapshot();
  const data = await api.data(
    `mutation ($input: ${mutation[0]?.toUpperCase()}${mutation.slice(1)}Input!) {
      ${mutation}(input: $input) { ${selection} userErrors { code field message } }
    }`,
    { input },
  );
  const payload = data[mutation] as { userErrors: UserErrorBody[]; [field: string]: unknown };
  expect(payload.userErrors.map((error) => [error.code, error.field])).toEqual([["INVALID_ID", field]]);
  expect(payload.userErrors[0]?.message).toMatch(/global ID/);
  expect(await api.snapshot()).toBe(before);
  return payload;
}

describe("mutation plumbing", () => {
  it("names the first bad ID field, in the order the mutation checks them, before the write options", async () => {
    const customer = await api.createCustomer("plumbing-1");
    const account = await api.openAccount(customer);
    const transferred = "action { id } accounts { id } replayed";
    // Both account IDs are bad: the source is checked first.
    await refusedWith(
      "transfer",
      { sourceAccountId: "garbage", targetAccountId: customer, amount: "1" },
      ["input", "sourceAccountId"],
      transferred,
    );
    // A bad account ID is reported before a bad store ID.
    await refusedWith(
      "reduce",
      { accountId: customer, amount: "1", storeId: "garbage" },
      ["input", "accountId"],
      transferred,
    );
    // The write options of every money mutation are decoded the same way.
    const payload = await refusedWith(
      "transfer",
      { sourceAccountId: account, targetAccountId: account, amount: "1", partnerId: account },
      ["input", "partnerId"],
      transferred,
    );
    expect({ action: payload.action, accounts: payload.accounts, replayed: payload.replayed }).toEqual({
      action: null,
      accounts: [],
      replayed: false,
    });
  });

  it("refuses a bad ID in the directory's mutations", async () => {
    const customer = await api.createCustomer("plumbing-2");
    const account = await api.openAccount(customer);
    const updated = await refusedWith(
      "updateCustomer",
      { customerId: account, name: "Never" },
      ["input", "customerId"],
      "customer { id }",
    );
    expect(updated.customer).toBeNull();
    const renamed = await refusedWith(
      "updateCreditAccount",
      { accountId: customer, name: "Never" },
      ["input", "accountId"],
      "account { id }",
    );
    expect(renamed.account).toBeNull();
    await refusedWith("closeCreditAccount", { accountId: "%%%" }, ["input", "accountId"], "account { id }");
  });

  it("says which type a valid global ID of the wrong type names and which was expected, in both languages", async () => {
    const customer = await api.createCustomer("plumbing-3");
    const account = await api.openAccount(customer);
    const deposited = await api.data(
      `mutation ($input: DepositInput!) { deposit(input: $input) { action { grant { id } } userErrors { code } } }`,
      { input: { accountId: account, amount: "100" } },
    );
    const grant = deposited.deposit.action.grant.id as string;
    const hold = await api.data(
      `mutation ($input: AuthorizeHoldInput!) { authorizeHold(input: $input) { hold { id } userErrors { code } } }`,
      { input: { accountId: account, amount: "10" } },
    );
    expect(hold.authorizeHold.userErrors).toEqual([]);

    /** The one user error of the mutation, in the language, after checking that nothing was written. */
    const refusal = async (mutation: string, input: Record<string, unknown>, language: string) => {
      const before = await api.snapshot();
      const data = await api.data(
        `mutation ($input: ${mutation[0]?.toUpperCase()}${mutation.slice(1)}Input!) {
          ${mutation}(input: $input) { userErrors { code field message } }
        }`,
        { input },
        { language },
      );
      expect(await api.snapshot()).toBe(before);
      const errors = data[mutation].userErrors as UserErrorBody[];
      expect(errors).toHaveLength(1);
      return errors[0];
    };

    expect(await refusal("deposit", { accountId: grant, amount: "1" }, "en")).toEqual({
      code: "INVALID_ID",
      field: ["input", "accountId"],
      message: "This is the global ID of a CreditGrant, not of a CreditAccount; send the ID of a CreditAccount.",
    });
    expect(await refusal("reduce", { accountId: customer, amount: "1" }, "cs")).toEqual({
      code: "INVALID_ID",
      field: ["input", "accountId"],
      message:
        "Toto je globální ID objektu typu Customer, ne objektu typu CreditAccount; zadejte ID objektu typu CreditAccount.",
    });
    expect(await refusal("releaseHold", { holdId: account }, "en")).toMatchObject({
      field: ["input", "holdId"],
      message: "This is the global ID of a CreditAccount, not of a CreditHold; send the ID of a CreditHold.",
    });
    expect(await refusal("reduce", { accountId: account, amount: "1", storeId: grant }, "en")).toMatchObject({
      field: ["input", "storeId"],
      message: "This is the global ID of a CreditGrant, not of a Store; send the ID of a Store.",
    });
    // A string that is no global ID at all still names the type expected.
    expect(await refusal("deposit", { accountId: "garbage", amount: "1" }, "en")).toMatchObject({
      code: "INVALID_ID",
      message: "The ID is not a valid global ID of a CreditAccount.",
    });
    expect(await refusal("deposit", { accountId: "garbage", amount: "1" }, "cs")).toMatchObject({
      code: "INVALID_ID",
      message: "ID není platné globální ID objektu typu CreditAccount.",
    });

    // A batch item says the same, at the item's field.
    const before = await api.snapshot();
    const batch = await api.data(
      `mutation ($input: ApplyCreditBatchInput!) { applyCreditBatch(input: $input) { userErrors { code field message } } }`,
      { input: { items: [{ deposit: { accountId: account, amount: "1" } }, { captureHold: { holdId: grant } }] } },
    );
    expect(batch.applyCreditBatch.userErrors).toEqual([
      {
        code: "INVALID_ID",
        field: ["input", "items", "1", "captureHold", "holdId"],
        message: "This is the global ID of a CreditGrant, not of a CreditHold; send the ID of a CreditHold.",
      },
    ]);
    expect(await api.snapshot()).toBe(before);
  });
});
