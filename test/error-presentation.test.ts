// What every error looks like when it leaves the gateway, whoever produced it (validation, variable coercion,
// scalars, guards): no schema hints when introspection is off.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/config.ts";
import { createGateway, type Gateway } from "../src/server/yoga.ts";
import { createTenantKey } from "./support/api.ts";
import { createTestDatabase, type TestDatabase } from "./support/database.ts";

let testDatabase: TestDatabase;
let key: string;
let open: Gateway;
let closed: Gateway;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  key = await createTenantKey(testDatabase.database);
  open = createGateway({ database: testDatabase.database, config: loadConfig({ LOG_LEVEL: "silent" }) });
  closed = createGateway({
    database: testDatabase.database,
    config: loadConfig({ LOG_LEVEL: "silent", INTROSPECTION: "false" }),
  });
});

afterAll(async () => {
  await testDatabase?.drop();
});

interface Body {
  data?: unknown;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export async function send(
  target: Gateway,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Body }> {
  const response = await target.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      authorization: `Bearer ${key}`,
      ...headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as Body };
}

// Each one misspells a schema member that graphql-js would suggest: in literals (validation) and in variables
// (coercion), for fields, arguments, enum values and input fields.
const misspellings: [string, string, Record<string, unknown>?][] = [
  ["field", "{ apiVersio }"],
  ["argument", '{ customer(externalI: "x") { id } }'],
  [
    "enum value, literal",
    '{ customer(externalId: "x") { history(orderBy: { field: EFFECTIVE, direction: DESC }) { totalCount } } }',
  ],
  [
    "enum value in a list, literal",
    '{ customer(externalId: "x") { history(filter: { types: [DEPOSITT] }) { totalCount } } }',
  ],
  ["input field, literal", '{ customer(externalId: "x") { history(filter: { typeNam: "x" }) { totalCount } } }'],
  [
    "enum value, variable",
    'query ($o: CreditHistoryOrder) { customer(externalId: "x") { history(orderBy: $o) { totalCount } } }',
    { o: { field: "EFFECTIV", direction: "DESC" } },
  ],
  [
    "input field, variable",
    "mutation ($i: DepositInput!) { deposit(input: $i) { replayed } }",
    { i: { accountId: "x", amout: "1" } },
  ],
  ["type name, variable definition", "query ($o: CreditHistoryOrde) { apiVersion }"],
];

describe("with INTROSPECTION=false", () => {
  for (const [what, query, variables] of misspellings) {
    it(`gives no "Did you mean" hint for a misspelled ${what}`, async () => {
      const { body } = await send(closed, query, variables);
      expect(body.errors?.length).toBeGreaterThan(0);
      for (const error of body.errors ?? []) expect(error.message).not.toMatch(/Did you mean/i);
    });
  }
});

describe("with introspection on", () => {
  it("keeps the hints, which help developers", async () => {
    const { body } = await send(open, "{ apiVersio }");
    expect(body.errors?.[0]?.message).toMatch(/Did you mean "apiVersion"\?/);
  });
});

describe("refusals", () => {
  const sendRaw = async (body: string, accept: string) => {
    const response = await open.fetch("http://gateway.test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept, authorization: `Bearer ${key}` },
      body,
    });
    return { status: response.status, body: (await response.json()) as Body };
  };

  it("refuse an empty batch with BAD_REQUEST, whatever the media type", async () => {
    for (const accept of ["application/json", "application/graphql-response+json"]) {
      const { status, body } = await sendRaw("[]", accept);
      expect(status).toBe(400);
      expect(body.errors?.[0]?.extensions?.code).toBe("BAD_REQUEST");
    }
  });

  // Variables that do not fit their type: request errors, answered 200 to application/json clients and 400
  // to application/graphql-response+json clients, each with a code.
  const badVariables: [string, string, Record<string, unknown>, string][] = [
    [
      "an unknown enum value",
      'query ($o: CreditHistoryOrder) { customer(externalId: "x") { history(orderBy: $o) { totalCount } } }',
      { o: { field: "EFFECTIV", direction: "DESC" } },
      "INVALID_VARIABLES",
    ],
    [
      "an unknown input field",
      "mutation ($i: DepositInput!) { deposit(input: $i) { replayed } }",
      { i: { accountId: "x", amount: "1", amout: "1" } },
      "INVALID_VARIABLES",
    ],
    [
      "a missing required variable",
      "mutation ($i: DepositInput!) { deposit(input: $i) { replayed } }",
      {},
      "INVALID_VARIABLES",
    ],
    [
      "a wrong type",
      "query ($n: Int) { customers(first: $n) { edges { cursor } } }",
      { n: "many" },
      "INVALID_VARIABLES",
    ],
    [
      "a bad DateTime",
      'query ($d: DateTime) { customer(externalId: "x") { history(filter: { effectiveFrom: $d }) { totalCount } } }',
      { d: "2026-13-01" },
      "INVALID_DATE_TIME",
    ],
    [
      "a bad Amount",
      "mutation ($i: DepositInput!) { deposit(input: $i) { replayed } }",
      { i: { accountId: "x", amount: "1.5" } },
      "INVALID_AMOUNT",
    ],
  ];
  for (const [what, query, variables, code] of badVariables) {
    it(`answer ${what} in variables with ${code}, 200 as JSON and 400 as graphql-response+json`, async () => {
      const plain = await sendRaw(JSON.stringify({ query, variables }), "application/json");
      expect(plain.status).toBe(200);
      expect(plain.body.data).toBeUndefined();
      expect(plain.body.errors?.map((error) => error.extensions?.code)).toEqual([code]);
      const strict = await sendRaw(JSON.stringify({ query, variables }), "application/graphql-response+json");
      expect(strict.status).toBe(400);
      expect(strict.body.errors?.map((error) => error.extensions?.code)).toEqual([code]);
    });
  }

  it("give every error of a malformed request a code", async () => {
    for (const body of [
      '{"query": "{"}',
      '{"query": "{ apiVersion } { apiVersion }"}',
      '{"variables": {}}',
      '{"query": 5}',
    ]) {
      const result = await sendRaw(body, "application/json");
      expect(result.body.errors?.length, body).toBeGreaterThan(0);
      for (const error of result.body.errors ?? [])
        expect(error.extensions?.code, `${body}: ${error.message}`).toMatch(/^[A-Z_]+$/);
    }
  });
});

describe("the language of refusals", () => {
  const cs = { "accept-language": "cs" };
  const deposit = "mutation ($i: DepositInput!) { deposit(input: $i) { replayed } }";
  const history = (filter: string) => `{ customer(externalId: "x") { history(filter: ${filter}) { totalCount } } }`;

  const refusals: [string, string, Record<string, unknown>, string, RegExp][] = [
    [
      "a fractional Amount in variables",
      deposit,
      { i: { accountId: "x", amount: "1.5" } },
      "INVALID_AMOUNT",
      /^Proměnná \$i: Částka musí být celé číslo/,
    ],
    [
      "a fractional Amount inline",
      'mutation { deposit(input: { accountId: "x", amount: "1.5" }) { replayed } }',
      {},
      "INVALID_AMOUNT",
      /^Částka musí být celé číslo/,
    ],
    [
      "an Amount out of range",
      deposit,
      { i: { accountId: "x", amount: "99999999999999999999" } },
      "AMOUNT_OUT_OF_RANGE",
      /^Proměnná \$i: Částka 99999999999999999999 leží mimo 64bitový rozsah/,
    ],
    [
      "a bad DateTime in variables",
      `query ($d: DateTime) ${history("{ effectiveFrom: $d }")}`,
      { d: "2026-13-01" },
      "INVALID_DATE_TIME",
      /^Proměnná \$d: „2026-13-01“ není skutečné datum a čas: měsíc musí být 01 až 12\.$/,
    ],
    [
      "a bad DateTime inline",
      history('{ effectiveFrom: "2026-02-30" }'),
      {},
      "INVALID_DATE_TIME",
      /^„2026-02-30“ není skutečné datum a čas: den 30 v měsíci 2026-02 neexistuje, ten má 28 dní\.$/,
    ],
    [
      "an unknown enum value in variables",
      'query ($o: CreditHistoryOrder) { customer(externalId: "x") { history(orderBy: $o) { totalCount } } }',
      { o: { field: "NOPE", direction: "DESC" } },
      "INVALID_VARIABLES",
      /^Proměnná \$o: Hodnota proměnné neodpovídá/,
    ],
    ["an unknown field", "{ noSuchField }", {}, "GRAPHQL_VALIDATION_FAILED", /^Dotaz neodpovídá schématu API: /],
    [
      "a costly query",
      "{ customers(first: 100) { edges { node { history(first: 100) { edges { node { id } } } } } } }",
      {},
      "QUERY_TOO_COSTLY",
      /^Dotaz stojí \d+, víc než povolených 5000/,
    ],
  ];
  for (const [what, query, variables, code, czech] of refusals) {
    it(`says ${what} (${code}) in Czech under Accept-Language: cs, and in English without it`, async () => {
      const inCzech = await send(open, query, variables, cs);
      expect(inCzech.body.errors?.[0]?.extensions?.code).toBe(code);
      expect(inCzech.body.errors?.[0]?.message).toMatch(czech);
      const inEnglish = await send(open, query, variables, { "accept-language": "en" });
      expect(inEnglish.body.errors?.[0]?.extensions?.code).toBe(code);
      expect(inEnglish.body.errors?.[0]?.message).not.toMatch(/[ěščřžýáíéůú]/);
    });
  }

  // Every refusal of an Amount, in a variable and inline: the Czech message quotes the value as the English one
  // does, and says why (the English wording is the scalar's, src/schema/scalars.ts).
  const amounts: [string, string, Record<string, unknown>, string, RegExp, RegExp][] = [
    [
      '"-0" in a variable',
      deposit,
      { i: { accountId: "x", amount: "-0" } },
      "INVALID_AMOUNT",
      /got "-0"/,
      /zadáno „-0“/,
    ],
    [
      '"-0" inline',
      'mutation { deposit(input: { accountId: "x", amount: "-0" }) { replayed } }',
      {},
      "INVALID_AMOUNT",
      /got "-0"/,
      /zadáno „-0“/,
    ],
    [
      "-0 as a number inline",
      'mutation { deposit(input: { accountId: "x", amount: -0 }) { replayed } }',
      {},
      "INVALID_AMOUNT",
      /^Amount -0 is not a canonical/,
      /^Částka -0 není .*nula se píše „0“/,
    ],
    [
      '"1.5" in a variable',
      deposit,
      { i: { accountId: "x", amount: "1.5" } },
      "INVALID_AMOUNT",
      /got "1\.5"/,
      /zadáno „1\.5“/,
    ],
    [
      "1.5 as a number in a variable",
      deposit,
      { i: { accountId: "x", amount: 1.5 } },
      "INVALID_AMOUNT",
      /got 1\.5;/,
      /zadáno 1\.5;/,
    ],
    [
      "2^60 as a number in a variable",
      deposit,
      { i: { accountId: "x", amount: 2 ** 60 } },
      "INVALID_AMOUNT",
      /Amount 1152921504606847000 is too large/,
      /Částka 1152921504606847000 je příliš velká/,
    ],
    [
      "2^60 as a number inline",
      'mutation { deposit(input: { accountId: "x", amount: 1152921504606846976 }) { replayed } }',
      {},
      "INVALID_AMOUNT",
      /Amount 1152921504606846976 is too large/,
      /Částka 1152921504606846976 je příliš velká/,
    ],
    [
      "true in a variable",
      deposit,
      { i: { accountId: "x", amount: true } },
      "INVALID_AMOUNT",
      /got boolean true/,
      /zadáno true/,
    ],
    [
      "an out-of-range amount",
      deposit,
      { i: { accountId: "x", amount: "99999999999999999999" } },
      "AMOUNT_OUT_OF_RANGE",
      /Amount 99999999999999999999 lies outside/,
      /Částka 99999999999999999999 leží mimo/,
    ],
  ];
  for (const [what, query, variables, code, english, czech] of amounts) {
    it(`says why an Amount is refused (${what}), with its value, in English and in Czech alike`, async () => {
      const inEnglish = await send(open, query, variables, { "accept-language": "en" });
      expect(inEnglish.body.errors?.map((error) => error.extensions?.code)).toEqual([code]);
      expect(inEnglish.body.errors?.[0]?.message).toMatch(english);
      const inCzech = await send(open, query, variables, cs);
      expect(inCzech.body.errors?.map((error) => error.extensions?.code)).toEqual([code]);
      expect(inCzech.body.errors?.[0]?.message).toMatch(czech);
    });
  }

  // Every refusal of a DateTime, in a variable and inline: the Czech message gives the reason and the details the
  // English one gives (the English wording is src/time/date-time.ts's and the scalar's).
  const balanceAt =
    "query ($d: DateTime!) { customers(first: 1) { edges { node { accounts { balanceAt(at: $d) } } } } }";
  const inlineBalanceAt = (literal: string) =>
    `{ customers(first: 1) { edges { node { accounts { balanceAt(at: ${literal}) } } } } }`;
  const dateTimes: [string, string, Record<string, unknown>, RegExp, RegExp][] = [
    [
      "a day the month lacks, in a variable",
      balanceAt,
      { d: "2026-02-30" },
      /^Variable "\$d" got invalid value "2026-02-30"; "2026-02-30" is not a real date and time: day 30 does not exist in 2026-02, which has 28 days\.$/,
      /^Proměnná \$d: „2026-02-30“ není skutečné datum a čas: den 30 v měsíci 2026-02 neexistuje, ten má 28 dní\.$/,
    ],
    [
      "a day the month lacks, inline",
      inlineBalanceAt('"2028-02-30"'),
      {},
      /day 30 does not exist in 2028-02, which has 29 days\.$/,
      /^„2028-02-30“ není skutečné datum a čas: den 30 v měsíci 2028-02 neexistuje, ten má 29 dní\.$/,
    ],
    [
      "month 13",
      balanceAt,
      { d: "2026-13-01T10:00:00Z" },
      /is not a real date and time: the month must be 01 to 12\.$/,
      /^Proměnná \$d: „2026-13-01T10:00:00Z“ není skutečné datum a čas: měsíc musí být 01 až 12\.$/,
    ],
    [
      "hour 24, inline",
      inlineBalanceAt('"2026-03-01T24:00"'),
      {},
      /the hour must be 00 to 23\.$/,
      /^„2026-03-01T24:00“ není skutečné datum a čas: hodina musí být 00 až 23\.$/,
    ],
    [
      "minute 60",
      balanceAt,
      { d: "2026-03-01T10:60" },
      /the minute must be 00 to 59\.$/,
      /: minuta musí být 00 až 59\.$/,
    ],
    [
      "second 60",
      balanceAt,
      { d: "2026-03-01T10:00:60" },
      /the second must be 00 to 59\.$/,
      /: sekunda musí být 00 až 59\.$/,
    ],
    [
      "offset +25:00",
      balanceAt,
      { d: "2026-03-01T10:00:00+25:00" },
      /the offset must be at most ±23:59\.$/,
      /: posun musí být nejvýše ±23:59\.$/,
    ],
    [
      "text in no accepted form",
      balanceAt,
      { d: "tomorrow" },
      /DateTime must be an ISO 8601 date and time .*; got "tomorrow"\.$/,
      /^Proměnná \$d: Hodnota DateTime musí být datum a čas podle ISO 8601, .*; zadáno „tomorrow“\.$/,
    ],
    [
      "a number in a variable",
      balanceAt,
      { d: 12345 },
      /DateTime must be a string, .*; got number 12345\.$/,
      /^Proměnná \$d: Hodnota DateTime musí být řetězec, .*; zadáno: číslo 12345\.$/,
    ],
    [
      "a number inline",
      inlineBalanceAt("12345"),
      {},
      /^DateTime must be a string, .*; got 12345\.$/,
      /^Hodnota DateTime musí být řetězec, .*; zadáno: 12345\.$/,
    ],
  ];
  for (const [what, query, variables, english, czech] of dateTimes) {
    it(`says why a DateTime is refused (${what}), with its details, in English and in Czech alike`, async () => {
      const inEnglish = await send(open, query, variables, { "accept-language": "en" });
      expect(inEnglish.body.errors?.map((error) => error.extensions?.code)).toEqual(["INVALID_DATE_TIME"]);
      expect(inEnglish.body.errors?.[0]?.message).toMatch(english);
      const inCzech = await send(open, query, variables, cs);
      expect(inCzech.body.errors?.map((error) => error.extensions?.code)).toEqual(["INVALID_DATE_TIME"]);
      expect(inCzech.body.errors?.[0]?.message).toMatch(czech);
    });
  }

  it("keeps graphql-js's detail after the Czech lead-in for a variable that does not fit its type", async () => {
    const query = 'mutation ($a: Amount!) { deposit(input: { accountId: "x", amount: $a }) { replayed } }';
    const inCzech = await send(open, query, { a: null }, cs);
    expect(inCzech.body.errors?.map((error) => error.extensions?.code)).toEqual(["INVALID_VARIABLES"]);
    expect(inCzech.body.errors?.[0]?.message).toBe(
      'Proměnná $a: Hodnota proměnné neodpovídá jejímu typu: Variable "$a" of non-null type "Amount!" must not be null.',
    );
  });

  it("lists the same DateTime forms in Czech as in English", async () => {
    const examples = (message: string | undefined, quote: RegExp) =>
      [...(message ?? "").matchAll(quote)]
        .map((match) => match[1])
        .filter((example) => example !== "tomorrow" && example !== "$d");
    const inEnglish = await send(open, balanceAt, { d: "tomorrow" }, { "accept-language": "en" });
    const inCzech = await send(open, balanceAt, { d: "tomorrow" }, cs);
    const english = examples(inEnglish.body.errors?.[0]?.message, /"([^"]+)"/g);
    expect(english).toContain("2026-03-01T10:00");
    expect(english).toContain("2026-03-01T09:00:00Z");
    expect(examples(inCzech.body.errors?.[0]?.message, /„([^“]+)“/g)).toEqual(english);
  });

  it("follows the tenant's default language when the request names none", async () => {
    const czechKey = await createTenantKey(testDatabase.database, "Czech tenant", "cs");
    const response = await open.fetch("http://gateway.test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${czechKey}` },
      body: JSON.stringify({ query: deposit, variables: { i: { accountId: "x", amount: "1.5" } } }),
    });
    const body = (await response.json()) as Body;
    expect(body.errors?.[0]?.message).toMatch(/Částka musí být celé číslo/);
  });

  it("answers maintenance and overload refusals in the language of Accept-Language", async () => {
    const maintenance = createGateway({
      database: testDatabase.database,
      config: loadConfig({ LOG_LEVEL: "silent", MAINTENANCE_MODE: "true" }),
    });
    const { status, body } = await send(maintenance, "{ apiVersion }", {}, cs);
    expect(status).toBe(503);
    expect(body.errors?.[0]).toMatchObject({
      extensions: { code: "MAINTENANCE" },
      message: expect.stringMatching(/údržbě/),
    });
  });
});
