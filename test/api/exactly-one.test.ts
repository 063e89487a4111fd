// Fields that take exactly one of several arguments refuse both and neither with INVALID_ARGUMENTS, in the
// request's language, instead of answering null as if nothing had been found. `customer(id:, externalId:)`
// is the schema's only such field (the history's paging arguments allow at most one way of paging and are
// refused with INVALID_PAGINATION); the test below holds the schema to that.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schema } from "../../src/schema/index.ts";
import { createApiFixture, type ApiFixture } from "../support/api.ts";

let fixture: ApiFixture;
let customerId: string;

beforeAll(async () => {
  fixture = await createApiFixture();
  customerId = await fixture.createCustomer("CUST-1");
});

afterAll(async () => {
  await fixture?.drop();
});

const lookup = "query ($id: ID, $externalId: String) { customer(id: $id, externalId: $externalId) { externalId } }";

describe("customer(id:, externalId:)", () => {
  it("finds the customer by either argument alone", async () => {
    expect(await fixture.data(lookup, { id: customerId })).toEqual({ customer: { externalId: "CUST-1" } });
    expect(await fixture.data(lookup, { externalId: "CUST-1" })).toEqual({ customer: { externalId: "CUST-1" } });
    expect(await fixture.data(lookup, { externalId: "nobody" })).toEqual({ customer: null });
  });

  // Variables are built when the test runs, once the customer exists.
  const wrong: [string, () => Record<string, unknown>, string][] = [
    ["both, as variables", () => ({ id: customerId, externalId: "CUST-1" }), lookup],
    ["neither", () => ({}), lookup],
    ["both null", () => ({ id: null, externalId: null }), lookup],
    ["both, inline", () => ({}), '{ customer(id: "x", externalId: "CUST-1") { externalId } }'],
    ["neither, inline", () => ({}), "{ customer { externalId } }"],
  ];
  for (const [what, variables, query] of wrong) {
    it(`refuses ${what} with INVALID_ARGUMENTS`, async () => {
      const body = await fixture.graphql(query, variables());
      expect(body.data?.customer ?? null).toBeNull();
      expect(body.errors?.map((error) => error.extensions?.code)).toEqual(["INVALID_ARGUMENTS"]);
      expect(body.errors?.[0]?.message).toMatch(/exactly one of the arguments id, externalId/);
    });
  }

  it("says so in Czech under Accept-Language: cs", async () => {
    const body = await fixture.graphql("{ customer { externalId } }", {}, { language: "cs" });
    expect(body.errors?.[0]?.message).toMatch(/právě jeden z argumentů id, externalId/);
  });
});

describe("the schema", () => {
  it("has no other field whose arguments are alternatives without a check (descriptions say 'exactly one')", () => {
    const fields: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith("__") || !("getFields" in type)) continue;
      for (const field of Object.values(
        (type as { getFields(): Record<string, { description?: string | null; args?: unknown[] }> }).getFields(),
      )) {
        if (/exactly one/i.test(field.description ?? ""))
          fields.push(`${type.name}.${(field as { name?: string }).name}`);
      }
    }
    expect(fields).toEqual(["Query.customer"]);
  });
});
