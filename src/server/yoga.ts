// The gateway as a fetch-style request handler: GraphQL at /graphql and a health check at /health.
//
// It knows nothing of sockets, so tests call `gateway.fetch(...)` in-process and src/server/http.ts
// serves it with node:http.
import type { GraphQLSchema } from "graphql";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import { createYoga, type Plugin } from "graphql-yoga";
import type { Config } from "../config/config.ts";
import type { Database } from "../db/client.ts";
import { schema as gatewaySchema } from "../schema/index.ts";
import { useScopes } from "../auth/scopes.ts";
import { createLedger, type Ledger } from "../ledger/index.ts";
import { createContext, type Context } from "./context.ts";

export interface CreateGatewayOptions {
  database: Database;
  /** The ledger the API reads and writes; by default one over `database` on the real clock. */
  ledger?: Ledger;
  config: Pick<Config, "graphiql" | "logLevel">;
  /**
   * Replaces the gateway's schema. Tests use it to exercise the server itself (error masking, shutdown)
   * with resolvers the real API does not have.
   */
  schema?: GraphQLSchema;
  /** An API key GraphiQL sends by default (the development demo key); null leaves the headers to the user. */
  graphiqlApiKey?: string | null;
}

export const graphqlEndpoint = "/graphql";
export const healthEndpoint = "/health";

export function createGateway({
  database,
  ledger = createLedger(database),
  config,
  schema = gatewaySchema,
  graphiqlApiKey = null,
}: CreateGatewayOptions) {
  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint,
    context: ({ request }) => createContext({ request, database, ledger }),
    // Yoga masks errors by default: a resolver's unexpected error reaches the client as "Unexpected
    // error." and only the log has its message, so internals (SQL, stack traces) never leak. Errors
    // meant for clients are thrown as GraphQLError. Stated explicitly so that nobody turns it off by
    // accident.
    maskedErrors: true,
    logging: config.logLevel === "silent" ? false : config.logLevel,
    // GraphiQL served from the package itself instead of a public CDN, so it works on networks that
    // cannot reach one and under a strict content security policy.
    renderGraphiQL,
    graphiql: config.graphiql
      ? {
          title: "Credit ledger gateway",
          defaultQuery: exampleQuery,
          headers: JSON.stringify({ Authorization: `Bearer ${graphiqlApiKey ?? "<your API key>"}` }, null, 2),
        }
      : false,
    // Yoga always installs its own health check, which answers an empty body. Ours answers JSON at
    // /health, so Yoga's is moved to a path that nothing documents.
    healthCheckEndpoint: "/_yoga-health",
    plugins: [useHealthEndpoint(), useScopes()],
  });
}

export type Gateway = ReturnType<typeof createGateway>;

/** What GraphiQL opens with: a query that works against the demo data. */
export const exampleQuery = `# A demo customer: balances, accounts, latest history.
# Press the run button. The API key is in the Headers tab;
# add "Accept-Language": "cs" there for Czech names.
# The Docs panel lists every filter and mutation.
query CustomerHistory {
  customer(externalId: "CUST-1001") {
    name
    balances { currency balance available }
    accounts { name currency balance available }
    history(first: 10) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges {
        direction
        balanceAfter
        account { name }
        node { type typeName amount note effectiveAt store { name } partner { name } }
      }
    }
  }
}
`;

/**
 * Answers `GET /health` with 200 `{"status":"ok"}` while the process serves requests. It is a liveness
 * check: it does not touch the database, so a slow database does not get the process restarted.
 */
function useHealthEndpoint(): Plugin {
  return {
    onRequest({ url, request, fetchAPI, endResponse }) {
      if (url.pathname !== healthEndpoint) return;
      if (request.method !== "GET" && request.method !== "HEAD") {
        endResponse(new fetchAPI.Response(null, { status: 405, headers: { allow: "GET, HEAD" } }));
        return;
      }
      endResponse(
        new fetchAPI.Response(JSON.stringify({ status: "ok" }), {
          status: 200,
          headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
        }),
      );
    },
  };
}
