// The README's list of error codes (the paragraph "Error codes." under "The ledger") and the schema's
// ErrorCode enum are the same set, so that neither documents a code the other lacks.
import { readFileSync } from "node:fs";
import { isEnumType } from "graphql";
import { describe, expect, it } from "vitest";
import { schema } from "../src/schema/index.ts";

describe("the README's error codes", () => {
  it("are exactly the values of the ErrorCode enum", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const start = readme.indexOf("**Error codes.**");
    expect(start).toBeGreaterThan(0);
    const end = readme.indexOf("\n\n", start);
    const listed = new Set([...readme.slice(start, end).matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1]));
    const type = schema.getType("ErrorCode");
    if (!isEnumType(type)) throw new Error("ErrorCode is not an enum");
    const values = new Set(type.getValues().map((value) => value.name));
    expect([...listed].sort()).toEqual([...values].sort());
  });
});
