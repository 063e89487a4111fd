// Writes the schema, in SDL, to schema.graphql at the root of the project (`npm run schema:print`).
//
// The file is checked in so that reviews show every change to the API; test/schema.test.ts fails when it
// is out of date. Types and fields are sorted so that moving code around does not change the file.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { lexicographicSortSchema, printSchema } from "graphql";
import { schema } from "../src/schema/index.ts";

export const schemaFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../schema.graphql");

/** The exact contents schema.graphql must have. */
export function renderSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}

// Importing this module (as the schema test does) only exposes the functions above; running it writes.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(schemaFile, renderSchema());
  console.log(`Wrote ${path.relative(process.cwd(), schemaFile) || schemaFile}`);
}
