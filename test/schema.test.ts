// Guards the published schema: the checked-in schema.graphql must match the code, and every element of the
// schema must be documented, because the schema is the API's reference documentation.
import { readFile } from "node:fs/promises";
import {
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedDirective,
  isSpecifiedScalarType,
} from "graphql";
import { describe, expect, it } from "vitest";
import { renderSchema, schemaFile } from "../scripts/print-schema.ts";
import { schema } from "../src/schema/index.ts";

/** Coordinates (`Type.field(arg:)`) of every type, field, argument, input field and enum value without a description. */
function undocumentedElements(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  const check = (coordinate: string, description: string | null | undefined) => {
    if (!description?.trim()) missing.push(coordinate);
  };
  for (const type of Object.values(schema.getTypeMap())) {
    // GraphQL's own types are documented by the specification.
    if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
    check(type.name, type.description);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        check(`${type.name}.${field.name}`, field.description);
        for (const arg of field.args) check(`${type.name}.${field.name}(${arg.name}:)`, arg.description);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) check(`${type.name}.${field.name}`, field.description);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) check(`${type.name}.${value.name}`, value.description);
    }
  }
  for (const directive of schema.getDirectives()) {
    if (isSpecifiedDirective(directive)) continue;
    check(`@${directive.name}`, directive.description);
    for (const arg of directive.args) check(`@${directive.name}(${arg.name}:)`, arg.description);
  }
  return missing;
}

describe("schema", () => {
  it("matches the checked-in schema.graphql", async () => {
    const checkedIn = await readFile(schemaFile, "utf8").catch(() => "(schema.graphql is missing)");
    expect(checkedIn, "schema.graphql is out of date: run `npm run schema:print` and commit it").toBe(renderSchema());
  });

  it("describes every type, field, argument, input field and enum value", () => {
    expect(undocumentedElements(schema), "these schema elements need a description").toEqual([]);
  });
});
