// The gateway's GraphQL schema. Importing a schema file registers its types with the builder, so every
// schema file is imported here, before the schema is built.
import { builder } from "./builder.ts";
import "./meta.ts";

export const schema = builder.toSchema();
