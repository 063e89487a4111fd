// The one refusal for a request without a valid API key: UNAUTHENTICATED, HTTP 401 with a Bearer challenge,
// in the request's language. Used by the guard that checks every GraphQL request (server/guards/
// authentication.ts) and by fields reached without a tenant.
import { GraphQLError } from "graphql";
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
