// The root Query type and what the API says about itself. A placeholder until the ledger's types arrive;
// domain files add their root fields with `builder.queryFields`.
import packageJson from "../../package.json" with { type: "json" };
import { builder } from "./builder.ts";

/** The API is versioned with the gateway's package. */
export const apiVersion: string = packageJson.version;

export const QueryRef = builder.queryType({
  description: "Entry points for reading data.",
  fields: (t) => ({
    apiVersion: t.string({
      // Non-null although it is a root field (graphql-eslint's require-nullable-result-in-root): it is a
      // constant of the running gateway and cannot fail, so a null would never carry information.
      description: "Version of the gateway's API. Never null: it is a constant of the running gateway and cannot fail.",
      resolve: () => apiVersion,
    }),
  }),
});

builder.mutationType({
  description: "Entry points for writing data. Business failures come back as `userErrors` on each payload.",
});

// The Relay plugin creates the Node interface and the `node`/`nodes` fields on first use, which would be
// the first type implementing Node. Requesting them now keeps them in the schema from the first version,
// so clients can rely on them before any such type exists.
builder.nodeInterfaceRef();

/** The description of every mutation payload's `query` field. */
export const refetchDescription =
  "The query root, to read anything else in the same round trip after the mutation (the Relay convention).";
