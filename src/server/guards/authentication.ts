// Authentication at the door: every request to the GraphQL endpoint needs a valid API key, whatever it
// selects. Introspection (`__schema`, `__type`, even `{ __typename }`) describes the API to whoever asks, so
// it is held to the same rule as data: a caller without a valid key learns nothing but that it needs one.
//
// The key is checked once per HTTP request, before the document is parsed, so that a batch, a GET and a POST are
// refused alike (401 with the code UNAUTHENTICATED and `WWW-Authenticate: Bearer`), and so that a refused
// request never reaches the parser, the validation rules or the resolvers. The caller found here is handed to
// the GraphQL context, which therefore does not look the key up a second time.
//
// Exempt are the operational endpoints (/health, /ready, /metrics), CORS preflights and the GraphiQL page
// itself (a browser's GET asking for HTML), all answered before a request is parsed: the page holds no
// secret, and the queries it sends carry the key the user pastes into its Headers tab.
import type { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import { authenticate, type Caller, presentedKey } from "../../auth/api-keys.ts";
import type { Database } from "../../db/client.ts";
import { negotiateLanguage } from "../../i18n/accept-language.ts";
import { supportedLanguages } from "../../i18n/languages.ts";
import { unauthenticated } from "../../auth/unauthenticated.ts";

export interface AuthenticationOptions {
  database: Database;
  /** The ledger's clock: a key's expiry is compared with it. */
  clock: () => Date;
  graphqlEndpoint: string;
  /**
   * Counts a request that presented an invalid key against its client address, and throws the rate-limit
   * refusal when the address is over its limit, so that inventing keys buys nothing.
   */
  countInvalidKey: (request: Request) => Promise<void>;
}

export interface Authentication {
  plugin: Plugin;
  /** The caller the plugin authenticated for this request; undefined when the plugin did not look. */
  callerOf(request: Request): Caller | undefined;
}

export function createAuthentication(options: AuthenticationOptions): Authentication {
  const callers = new WeakMap<Request, Caller>();
  const plugin: Plugin = {
    // Checked once the body has been read (so that an oversized body is still 413 and a cross-site form
    // still 403, refusals that need no database), but before the GraphQL document is parsed or validated.
    onRequestParse({ request, url }) {
      if (url.pathname !== options.graphqlEndpoint && url.pathname !== `${options.graphqlEndpoint}/`) return;
      return {
        async onRequestParseDone() {
          const key = presentedKey(request.headers);
          const caller = key ? await authenticate(options.database, key, options.clock()) : null;
          if (caller) {
            callers.set(request, caller);
            return;
          }
          // Throws the rate-limit refusal (429) when the address has used up its requests.
          if (key) await options.countInvalidKey(request);
          throw refuse(request);
        },
      };
    },
  };
  return { plugin, callerOf: (request) => callers.get(request) };
}

/** UNAUTHENTICATED (401), in the language of Accept-Language (English without one: there is no tenant). */
function refuse(request: Request): GraphQLError {
  return unauthenticated(negotiateLanguage(request.headers.get("accept-language"), supportedLanguages, "en"));
}
