// Hostile input through the real server: text that a database cannot store, IDs and cursors that were never
// issued, absurd values. Every one is answered with a stable code (a userError for mutations, a top-level
// error with extensions.code for queries) or simply finds nothing; none reaches the database as a fault
// ("Unexpected error."), and nothing is written.
import { encodeGlobalID } from "@pothos/plugin-relay";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { historyBatchLimits } from "../../src/ledger/history.ts";
import { type ApiFixture, createApiFixture } from "../support/api.ts";

let api: ApiFixture;
let customerId: string;
let accountId: string;

const nul = "a\u0000b";
const loneSurrogate = "x\uD800y";

beforeAll(async () => {
  api = await createApiFixture();
  customerId = await api.createCustomer("hostile-1", { name: "Target" });
  accountId = await api.openAccount(customerId);
  await api.data(`mutation($a: ID!) { deposit(input: { accountId: $a, amount: "100" }) { userErrors { code } } }`, {
    a: accountId,
  });
});

afterAll(async () => {
  await api?.drop();
});

function expectNoFault(body: { errors?: { message: string; extensions?: Record<string, unknown> }[] }) {
  for (const error of body.errors ?? []) {
    expect(error.message).not.toBe("Unexpected error.");
    expect(typeof error.extensions?.code).toBe("string");
  }
}

describe("text no database can store", () => {
  const writes: [string, string, (text: string) => Record<string, unknown>, string][] = [
    [
      "deposit note",
      `mutation($input: DepositInput!) { deposit(input: $input) { userErrors { code field } } }`,
      (text) => ({ input: { accountId, amount: "1", note: text } }),
      "note",
    ],
    [
      "deposit externalReference",
      `mutation($input: DepositInput!) { deposit(input: $input) { userErrors { code field } } }`,
      (text) => ({ input: { accountId, amount: "1", externalReference: text } }),
      "externalReference",
    ],
    [
      "reduce initiator",
      `mutation($input: ReduceInput!) { reduce(input: $input) { userErrors { code field } } }`,
      (text) => ({ input: { accountId, amount: "1", initiator: { type: "USER", id: text } } }),
      "initiator",
    ],
    [
      "grant name",
      `mutation($input: DepositInput!) { deposit(input: $input) { userErrors { code field } } }`,
      (text) => ({ input: { accountId, amount: "1", grant: { name: text } } }),
      "grant.name",
    ],
    [
      "customer externalId",
      `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { userErrors { code field } } }`,
      (text) => ({ input: { externalId: text } }),
      "externalId",
    ],
    [
      "customer name",
      `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { userErrors { code field } } }`,
      (text) => ({ input: { externalId: "fine", name: text } }),
      "name",
    ],
    [
      "customer email",
      `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { userErrors { code field } } }`,
      (text) => ({ input: { externalId: "fine", email: `${text}@example.com` } }),
      "email",
    ],
    [
      "account name",
      `mutation($input: OpenCreditAccountInput!) { openCreditAccount(input: $input) { userErrors { code field } } }`,
      (text) => ({ input: { customerId, name: text, currency: "PTS" } }),
      "name",
    ],
    [
      "store name",
      `mutation($input: CreateStoreInput!) { createStore(input: $input) { userErrors { code field } } }`,
      (text) => ({ input: { name: text } }),
      "name",
    ],
  ];
  for (const [name, mutation, variables, field] of writes) {
    it(`refuses ${name} with NUL or invalid Unicode as INVALID_TEXT, writing nothing`, async () => {
      for (const text of [nul, loneSurrogate]) {
        const before = await api.snapshot();
        const body = await api.graphql(mutation, variables(text));
        expectNoFault(body);
        const payload = Object.values(body.data ?? {})[0] as { userErrors: { code: string; field: string[] }[] };
        expect(payload.userErrors).toEqual([{ code: "INVALID_TEXT", field: ["input", ...field.split(".")] }]);
        expect(await api.snapshot()).toBe(before);
      }
    });
  }

  it("finds nothing, without a fault, when a lookup or filter holds such text", async () => {
    const byExternalId = await api.graphql(`query($e: String!) { customer(externalId: $e) { id } }`, { e: nul });
    expect(byExternalId).toMatchObject({ data: { customer: null } });
    expectNoFault(byExternalId);
    const search = await api.graphql(`query($s: String!) { customers(search: $s) { edges { node { id } } } }`, {
      s: nul,
    });
    expect(search).toMatchObject({ data: { customers: { edges: [] } } });
    expectNoFault(search);
    const history = await api.graphql(
      `query($id: ID!, $n: String!) { node(id: $id) { ... on CreditAccount { history(filter: { note: $n }) { totalCount } } } }`,
      { id: accountId, n: nul },
    );
    expectNoFault(history);
    expect(history.errors?.[0]?.extensions?.code).toBe("INVALID_FILTER");
    // The field is the API's argument, not the ledger's name for it (noteContains).
    expect(history.errors?.[0]?.extensions?.field).toBe("filter.note");
    // The refusal names the filter and says why, in each language, as a mutation's INVALID_TEXT does.
    expect(history.errors?.[0]?.message).toBe(
      "The filter note contains a character that cannot be stored: the NUL character or invalid Unicode.",
    );
    const inCzech = await api.graphql(
      `query($id: ID!, $n: String!) { node(id: $id) { ... on CreditAccount { history(filter: { note: $n }) { totalCount } } } }`,
      { id: accountId, n: nul },
      { language: "cs" },
    );
    expect(inCzech.errors?.[0]?.message).toBe(
      "Filtr note obsahuje znak, který nelze uložit: znak NUL nebo neplatný Unicode.",
    );
  });

  it("names the note filter and its limit when the text is too long, in each language", async () => {
    const query = `query($id: ID!, $n: String!) { node(id: $id) { ... on CreditAccount { history(filter: { note: $n }) { totalCount } } } }`;
    const variables = { id: accountId, n: "x".repeat(historyBatchLimits.noteQueryLength + 1) };
    const max = historyBatchLimits.noteQueryLength;
    const inEnglish = await api.graphql(query, variables);
    expect(inEnglish.errors?.map((error) => [error.extensions?.code, error.message])).toEqual([
      ["INVALID_FILTER", `The filter note may have at most ${max} characters.`],
    ]);
    const inCzech = await api.graphql(query, variables, { language: "cs" });
    expect(inCzech.errors?.[0]?.message).toBe(`Filtr note smí mít nejvýše ${max} znaků.`);
  });

  it("says that history's pages are numbered from 1", async () => {
    const query = `query($id: ID!) { node(id: $id) { ... on CreditAccount { history(first: 10, page: 0) { totalCount } } } }`;
    const inEnglish = await api.graphql(query, { id: accountId });
    expect(inEnglish.errors?.map((error) => [error.extensions?.code, error.message])).toEqual([
      ["INVALID_PAGINATION", "Pages are numbered from 1; got 0."],
    ]);
    const inCzech = await api.graphql(query, { id: accountId }, { language: "cs" });
    expect(inCzech.errors?.[0]?.message).toBe("Stránky se číslují od 1; zadáno 0.");
    const withOffset = await api.graphql(
      `query($id: ID!) { node(id: $id) { ... on CreditAccount { history(page: 2, offset: 5) { totalCount } } } }`,
      { id: accountId },
    );
    expect(withOffset.errors?.[0]?.message).toBe("page goes with first only: not with offset, after, before or last.");
  });
});

describe("IDs and cursors that were never issued", () => {
  it("answers node and nodes with null for IDs of any shape", async () => {
    const ids = [
      "",
      "garbage",
      encodeGlobalID("CreditAccount", nul),
      encodeGlobalID("CreditAccount", "' OR 1=1 --"),
      encodeGlobalID("Customer", "x".repeat(5000)),
      encodeGlobalID("NoSuchType", "1"),
      Buffer.from("no colon at all").toString("base64"),
    ];
    for (const id of ids) {
      const body = await api.graphql(`query($id: ID!) { node(id: $id) { id } }`, { id });
      expectNoFault(body);
    }
    const many = await api.graphql(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: ids.slice(1, 5) });
    expectNoFault(many);
  });

  it("refuses IDs of the wrong shape in mutations with INVALID_ID", async () => {
    for (const id of [
      encodeGlobalID("CreditAccount", nul),
      encodeGlobalID("CreditAccount", "1; DROP TABLE credit_entry"),
      customerId,
    ]) {
      const body = await api.graphql(
        `mutation($a: ID!) { reduce(input: { accountId: $a, amount: "1" }) { userErrors { code field } } }`,
        { a: id },
      );
      expectNoFault(body);
      expect((body.data as { reduce: { userErrors: unknown[] } }).reduce.userErrors).toEqual([
        { code: "INVALID_ID", field: ["input", "accountId"] },
      ]);
    }
  });

  it("refuses IDs of the wrong shape or type in query arguments with INVALID_ID, naming the type expected as mutations do", async () => {
    const storeId = await api.createStore("Hostile store");
    const partnerId = await api.createPartner("Hostile partner");
    const history = (filter: string) =>
      `query($c: ID!, $x: ID!) { customer(id: $c) { history(filter: ${filter}) { totalCount } } }`;
    const cases: [string, string, Record<string, string>, string, string][] = [
      [
        "customer(id:) with a store's ID",
        "query($x: ID!) { customer(id: $x) { id } }",
        { x: storeId },
        "id",
        "This is the global ID of a Store, not of a Customer; send the ID of a Customer.",
      ],
      [
        "customer(id:) with garbage",
        "query($x: ID!) { customer(id: $x) { id } }",
        { x: "garbage" },
        "id",
        "The ID is not a valid global ID of a Customer.",
      ],
      [
        "a partner's ID in filter.stores",
        history("{ stores: [$x] }"),
        { c: customerId, x: partnerId },
        "filter.stores",
        "This is the global ID of a Partner, not of a Store; send the ID of a Store.",
      ],
      [
        "garbage in filter.stores",
        history("{ stores: [$x] }"),
        { c: customerId, x: "garbage" },
        "filter.stores",
        "The ID is not a valid global ID of a Store.",
      ],
      [
        "a store's ID in filter.partners",
        history("{ partners: [$x] }"),
        { c: customerId, x: storeId },
        "filter.partners",
        "This is the global ID of a Store, not of a Partner; send the ID of a Partner.",
      ],
      [
        "an account's ID in filter.grant",
        history("{ grant: $x }"),
        { c: customerId, x: accountId },
        "filter.grant",
        "This is the global ID of a CreditAccount, not of a CreditGrant; send the ID of a CreditGrant.",
      ],
      [
        "garbage in node(id:)",
        "query($x: ID!) { node(id: $x) { id } }",
        { x: "garbage" },
        "",
        "The ID is not a valid global ID of a Node.",
      ],
    ];
    for (const [what, query, variables, field, message] of cases) {
      const body = await api.graphql(query, variables);
      expectNoFault(body);
      expect(
        body.errors?.map((error) => error.extensions?.code),
        what,
      ).toEqual(["INVALID_ID"]);
      if (field !== "") expect(body.errors?.[0]?.extensions?.field, what).toBe(field);
      expect(body.errors?.[0]?.message, what).toBe(message);
    }
    const czech = await api.graphql(history("{ stores: [$x] }"), { c: customerId, x: partnerId }, { language: "cs" });
    expect(czech.errors?.[0]?.message).toBe(
      "Toto je globální ID objektu typu Partner, ne objektu typu Store; zadejte ID objektu typu Store.",
    );
  });

  it("refuses forged history cursors with INVALID_CURSOR", async () => {
    const forged = [
      "not-a-cursor",
      Buffer.from(JSON.stringify(["EFFECTIVE_AT", "DESC", "2026-01-01T00:00:00.000Z", nul])).toString("base64url"),
      Buffer.from(
        JSON.stringify(["EFFECTIVE_AT", "DESC", "not a date", "00000000-0000-7000-8000-000000000000"]),
      ).toString("base64url"),
      Buffer.from(JSON.stringify(["AMOUNT", "ASC", "1e999", "00000000-0000-7000-8000-000000000000"])).toString(
        "base64url",
      ),
      Buffer.from(JSON.stringify({ a: 1 })).toString("base64url"),
    ];
    for (const after of forged) {
      const body = await api.graphql(
        `query($id: ID!, $after: String!) { node(id: $id) { ... on CreditAccount { history(first: 5, after: $after) { totalCount } } } }`,
        {
          id: accountId,
          after,
        },
      );
      expectNoFault(body);
      expect(body.errors?.[0]?.extensions?.code).toBe("INVALID_CURSOR");
    }
  });
});

describe("cursors of the plain lists", () => {
  it("refuses forged cursors on customers, stores and partners with INVALID_CURSOR, and last without before with INVALID_PAGINATION", async () => {
    const offsetCursor = (text: string) => Buffer.from(text).toString("base64");
    const forged = [
      "not a cursor",
      "",
      offsetCursor("OffsetConnection:-1"),
      offsetCursor("OffsetConnection:abc"),
      offsetCursor("OffsetConnection:007"),
      offsetCursor("OffsetConnection:1e3"),
      offsetCursor("arrayconnection:0"),
      Buffer.from(
        JSON.stringify(["holds", "2026-03-01T10:00:00.000Z", "00000000-0000-7000-8000-000000000000"]),
      ).toString("base64url"),
    ];
    for (const list of ["customers", "stores", "partners"]) {
      const query = `query ($first: Int, $after: String, $last: Int, $before: String) {
        ${list}(first: $first, after: $after, last: $last, before: $before) { edges { cursor } pageInfo { endCursor } } }`;
      for (const cursor of forged) {
        for (const variables of [
          { first: 1, after: cursor },
          { last: 1, before: cursor },
        ]) {
          const body = await api.graphql(query, variables);
          expectNoFault(body);
          expect({ list, cursor, code: body.errors?.[0]?.extensions?.code }).toEqual({
            list,
            cursor,
            code: "INVALID_CURSOR",
          });
        }
      }
      for (const variables of [{ last: 1 }, { first: 1, last: 1 }]) {
        const body = await api.graphql(query, variables);
        expectNoFault(body);
        expect(body.errors?.[0]?.extensions?.code).toBe("INVALID_PAGINATION");
      }
    }
    // The cursors the lists make are taken back.
    const first = await api.data(`{ customers(first: 1) { edges { cursor } pageInfo { endCursor } } }`);
    const next = await api.graphql(
      `query ($after: String) { customers(first: 1, after: $after) { edges { cursor } } }`,
      {
        after: first.customers.pageInfo.endCursor,
      },
    );
    expect(next.errors).toBeUndefined();
  });
});

describe("absurd values", () => {
  it("refuses page sizes, offsets and pages out of range with stable codes", async () => {
    for (const [args, code] of [
      ["first: -1", "PAGE_SIZE_OUT_OF_RANGE"],
      ["first: 2147483647", "PAGE_SIZE_OUT_OF_RANGE"],
      ["offset: -5", "OFFSET_OUT_OF_RANGE"],
      ["page: 0", "INVALID_PAGINATION"],
      ["first: 5, last: 5", "INVALID_PAGINATION"],
    ] as const) {
      const body = await api.graphql(
        `query($id: ID!) { node(id: $id) { ... on CreditAccount { history(${args}) { totalCount } } } }`,
        { id: accountId },
      );
      expectNoFault(body);
      expect(body.errors?.[0]?.extensions?.code).toBe(code);
    }
  });

  it("refuses every non-canonical spelling of an Amount with INVALID_AMOUNT, in any input, and writes nothing", async () => {
    const state = `query($id: ID!) { node(id: $id) { ... on CreditAccount { balance sequence held } } }`;
    const before = await api.data(state, { id: accountId });
    const writes = [
      `mutation($a: ID!, $m: Amount!) { deposit(input: { accountId: $a, amount: $m }) { userErrors { code } } }`,
      `mutation($a: ID!, $m: Amount!) { reduce(input: { accountId: $a, amount: "1", expected: { balance: $m } }) { userErrors { code } } }`,
      `mutation($a: ID!, $m: Amount!) { authorizeHold(input: { accountId: $a, amount: $m }) { userErrors { code } } }`,
    ];
    for (const write of writes) {
      for (const amount of ["-0", "+5", "00", "-007", "1e3", " 5", "5.0", "0x10", "٣", "５"]) {
        const body = await api.graphql(write, { a: accountId, m: amount });
        expectNoFault(body);
        expect(body.errors?.[0]?.extensions?.code).toBe("INVALID_AMOUNT");
        expect(body.errors?.[0]?.message).toContain("string of digits");
        expect(body.data).toBeUndefined();
      }
    }
    // A literal in the query text is held to the same rule as a variable.
    const literal = await api.graphql(
      `mutation($a: ID!) { deposit(input: { accountId: $a, amount: -0 }) { userErrors { code } } }`,
      { a: accountId },
    );
    expect(literal.errors?.[0]?.extensions?.code).toBe("INVALID_AMOUNT");
    expect(literal.errors?.[0]?.message).toContain('zero is written "0"');
    expect(await api.data(state, { id: accountId })).toEqual(before);
  });

  it("refuses out-of-range and malformed scalars before anything runs", async () => {
    for (const amount of ["99999999999999999999", "1e3", "0x10", "", " 1"]) {
      const body = await api.graphql(
        `mutation($a: ID!, $m: Amount!) { deposit(input: { accountId: $a, amount: $m }) { userErrors { code } } }`,
        { a: accountId, m: amount },
      );
      expectNoFault(body);
      expect(["INVALID_AMOUNT", "AMOUNT_OUT_OF_RANGE"]).toContain(body.errors?.[0]?.extensions?.code);
    }
    for (const at of ["2026-02-30 10:00:00", "yesterday", "2026-13-01", "9999999-01-01"]) {
      const body = await api.graphql(
        `query($id: ID!, $at: DateTime!) { node(id: $id) { ... on CreditAccount { balanceAt(at: $at) } } }`,
        { id: accountId, at },
      );
      expectNoFault(body);
      expect(body.errors?.[0]?.extensions?.code).toBe("INVALID_DATE_TIME");
    }
  });
});
