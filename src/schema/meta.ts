// The root Query type and what the API says about itself. A placeholder until the ledger's types arrive;
// domain files add their root fields with `builder.queryFields`.
import packageJson from "../../package.json" with { type: "json" };
import { builder } from "./builder.ts";

/** The API is versioned with the gateway's package. */
export const apiVersion: string = packageJson.version;

builder.queryType({
  description: "Entry points for reading data.",
  fields: (t) => ({
    apiVersion: t.string({
      description: "Version of the gateway's API.",
      resolve: () => apiVersion,
    }),
  }),
});

builder.mutationType({ description: "Entry points for writing data. Business failures come back as `userErrors` on each payload." });

// The Relay plugin creates the Node interface and the `node`/`nodes` fields on first use, which would be
// the first type implementing Node. Requesting them now keeps them in the schema from the first version,
// so clients can rely on them before any such type exists.
builder.nodeInterfaceRef();
