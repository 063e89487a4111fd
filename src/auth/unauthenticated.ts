// The one refusal for a request without a valid API key: UNAUTHENTICATED, HTTP 401 with a Bearer challenge,
// in the request's language. Used by the guard that checks every GraphQL request (server/guards/
// authentication.ts) and by fields reached without a tenant.
import { GraphQLError } from "graphql";
import type { Tenant } from "../generated/postgres/client.ts";
import type { Language } from "../i18n/languages.ts";
import { translateError } from "../i18n/messages.ts";

export function unauthenticated(language: Language): GraphQLError {
  const message = translateError(
    { code: "UNAUTHENTICATED", params: {}, message: "This needs a valid API key." },
    language,
  );
  return new GraphQLError(message, {
    extensions: {
      code: "UNAUTHENTICATED",
      http: { status: 401, headers: { "www-authenticate": 'Bearer realm="graphql"' } },
    },
  });
}

/**
 * The caller's tenant; refuses the field with UNAUTHENTICATED when the request has no valid key. It takes the
 * two fields of the request context it reads, so that this module needs nothing of the server's.
 */
export function requireTenant(context: { caller: { tenant: Tenant } | null; language: Language }): Tenant {
  if (!context.caller) throw unauthenticated(context.language);
  return context.caller.tenant;
}
