// Conventions of the schema that a reader (and Relay) relies on: every mutation takes an input named after
// it, every mutation payload offers `query` for refetching, and every non-null root field says why it is
// non-null (graphql-eslint's require-nullable-result-in-root asks root fields to be nullable).
import { getNamedType, isNonNullType, isObjectType } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schema } from "../src/schema/index.ts";
import { createApiFixture, type ApiFixture } from "./support/api.ts";

const mutations = Object.values(schema.getMutationType()!.getFields());

describe("the schema's mutations", () => {
  it("each take an input of their own, named after the mutation", () => {
    const wrong = mutations
      .map((field) => ({ field: field.name, input: field.args.find((arg) => arg.name === "input") }))
      .filter(
        ({ field, input }) =>
          !input || getNamedType(input.type).name !== `${field[0]!.toUpperCase()}${field.slice(1)}Input`,
      )
      .map(({ field, input }) => `${field}(input: ${input ? getNamedType(input.type).name : "none"})`);
    expect(wrong).toEqual([]);
  });

  it("each return a payload with `query: Query!` for refetching", () => {
    for (const field of mutations) {
      const payload = getNamedType(field.type);
      if (!isObjectType(payload)) throw new Error(`${field.name} returns ${payload.name}`);
      const query = payload.getFields().query;
      expect(query, payload.name).toBeDefined();
      expect(isNonNullType(query!.type) && getNamedType(query!.type).name).toBe("Query");
    }
  });
});

describe("the schema's non-null root fields", () => {
  it("each say why they are never null", () => {
    const unexplained = Object.values(schema.getQueryType()!.getFields())
      .filter((field) => isNonNullType(field.type) && !/Never null/.test(field.description ?? ""))
      .map((field) => field.name);
    expect(unexplained).toEqual([]);
  });
});

let fixture: ApiFixture;

beforeAll(async () => {
  fixture = await createApiFixture();
});

afterAll(async () => {
  await fixture?.drop();
});

describe("a payload's query", () => {
  it("reads anything after the mutation in the same round trip", async () => {
    const data = await fixture.data(
      'mutation { createStore(input: { name: "Main street" }) { store { name } query { stores { edges { node { name } } } } } }',
    );
    expect(data.createStore).toEqual({
      store: { name: "Main street" },
      query: { stores: { edges: [{ node: { name: "Main street" } }] } },
    });
  });
});
