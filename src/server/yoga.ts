// The gateway as a fetch-style request handler: GraphQL at /graphql and a health check at /health.
//
// It knows nothing of sockets, so tests call `gateway.fetch(...)` in-process and src/server/http.ts
// serves it with node:http.
import type { GraphQLSchema } from "graphql";
import { createYoga, type Plugin } from "graphql-yoga";
import type { Config } from "../config/config.ts";
import type { Database } from "../db/client.ts";
import { schema as gatewaySchema } from "../schema/index.ts";
import { createContext, type Context } from "./context.ts";

export interface CreateGatewayOptions {
  database: Database;
  config: Pick<Config, "graphiql" | "logLevel">;
  /**
   * Replaces the gateway's schema. Tests use it to exercise the server itself (error masking, shutdown)
   * with resolvers the real API does not have.
   */
  schema?: GraphQLSchema;
}

export const graphqlEndpoint = "/graphql";
export const healthEndpoint = "/health";

export function createGateway({ database, config, schema = gatewaySchema }: CreateGatewayOptions) {
  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint,
    context: ({ request }) => createContext({ request, database }),
    // Yoga masks errors by default: a resolver's unexpected error reaches the client as "Unexpected
    // error." and only the log has its message, so internals (SQL, stack traces) never leak. Errors
    // meant for clients are thrown as GraphQLError. Stated explicitly so that nobody turns it off by
    // accident.
    maskedErrors: true,
    logging: config.logLevel === "silent" ? false : config.logLevel,
    graphiql: config.graphiql ? { title: "Credit ledger gateway", defaultQuery: "{\n  apiVersion\n}\n" } : false,
    // Yoga always installs its own health check, which answers an empty body. Ours answers JSON at
    // /health, so Yoga's is moved to a path that nothing documents.
    healthCheckEndpoint: "/_yoga-health",
    plugins: [useHealthEndpoint()],
  });
}

export type Gateway = ReturnType<typeof createGateway>;

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
