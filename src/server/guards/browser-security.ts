// What the gateway lets browsers and unknown clients do: CORS, CSRF prevention and introspection.
//
// The API is meant for merchants' servers, so by default no other origin's page may call it (CORS_ORIGINS
// "none"), and GraphQL requests a cross-site HTML form could send without a CORS preflight (GET, or a POST
// that is not JSON) must carry a header such a form cannot set. Introspection can be turned off for
// deployments that do not want to publish the schema.
import { useCSRFPrevention } from "@graphql-yoga/plugin-csrf-prevention";
import { useDisableIntrospection } from "@graphql-yoga/plugin-disable-introspection";
import { GraphQLError } from "graphql";
import type { Plugin, YogaServerOptions } from "graphql-yoga";
import { guardErrorCodes } from "./refusal.ts";
import { defined } from "../../assert.ts";

export interface BrowserSecurityOptions {
  corsOrigins: readonly string[];
  csrfPrevention: boolean;
  introspection: boolean;
}

/**
 * The headers that show a request was not sent by a plain HTML form: Yoga's own, and the one the
 * GraphQL-over-HTTP community (Apollo's clients among them) sends.
 */
export const csrfHeaders = ["x-graphql-yoga-csrf", "graphql-require-preflight", "apollo-require-preflight"];

/** Yoga's `cors` option: off unless origins are configured, since Yoga's default allows every origin. */
export function corsOption(origins: readonly string[]): YogaServerOptions<object, object>["cors"] {
  if (origins.length === 0) return false;
  return {
    origin: origins.includes("*") ? "*" : [...origins],
    methods: ["GET", "POST"],
    allowedHeaders: [
      "authorization",
      "x-api-key",
      "content-type",
      "accept",
      "accept-language",
      "x-request-id",
      ...csrfHeaders,
    ],
    exposedHeaders: ["x-request-id", "retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"],
    // API keys travel in headers, never in cookies, so credentialed requests are not needed.
    credentials: false,
    maxAge: 600,
  };
}

export function useBrowserSecurity(options: BrowserSecurityOptions): Plugin[] {
  const plugins: Plugin[] = [];
  if (options.csrfPrevention) plugins.push(withCsrfCode(useCSRFPrevention({ requestHeaders: csrfHeaders })));
  if (!options.introspection) plugins.push(useDisableIntrospection());
  return plugins;
}

/** The CSRF plugin's refusal carries no code; this gives it a stable one and says which headers will do. */
function withCsrfCode(plugin: Plugin): Plugin {
  const check = defined(plugin.onRequestParse, "the CSRF plugin's onRequestParse hook");
  return {
    onRequestParse(payload) {
      try {
        return check(payload);
      } catch (error) {
        // Matched by shape rather than by class: the plugin builds its error through another package.
        if ((error as { extensions?: { http?: { status?: number } } })?.extensions?.http?.status !== 403) throw error;
        throw new GraphQLError(
          `This request could come from a cross-site form: send it as JSON, or add one of the headers ${csrfHeaders.join(", ")}.`,
          { extensions: { code: guardErrorCodes.csrfHeaderRequired, http: { status: 403 } } },
        );
      }
    },
  };
}
