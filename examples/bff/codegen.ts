// graphql-codegen's configuration for the example BFF: the client preset generates typed document nodes for
// every operation in operations.graphql, checked against the gateway's schema.graphql, and the manifest of
// trusted documents (persisted-documents.json) to deploy as the gateway's PERSISTED_OPERATIONS_FILE.
//
// Run from the repository root: npm run example:codegen (then npm run example:typecheck).
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: ["operations.graphql"],
  generates: {
    "generated/": {
      preset: "client",
      presetConfig: {
        // Whole results, not masked fragments: a BFF reads what it asked for.
        fragmentMasking: false,
        // Writes persisted-documents.json (SHA-256 of each document -> its text) and puts each document's
        // hash on it (document.__meta__.hash), for sending the id instead of the text.
        persistedDocuments: true,
      },
      config: {
        // Every custom scalar must be mapped: an unmapped one would be `any` and hide a type change.
        strictScalars: true,
        // Amount is exact minor units sent as a JSON string of digits; never a JavaScript number.
        scalars: { Amount: "string", DateTime: "string" },
        useTypeImports: true,
        enumsAsTypes: true,
      },
    },
  },
};

export default config;
