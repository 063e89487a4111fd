// The GraphQL context: what every resolver receives for one request.
//
// A new context is created for each request, so everything that caches (the loaders) is scoped to one
// request and one tenant. The caller comes from the request's API key; without a valid key there is no
// tenant, and every field that reads or writes tenant data refuses with UNAUTHENTICATED.
import { authenticate, type Caller, presentedKey } from "../auth/api-keys.ts";
import type { Database } from "../db/client.ts";
import { negotiateLanguage } from "../i18n/accept-language.ts";
import { supportedLanguages, toLanguage } from "../i18n/languages.ts";
import type { Ledger } from "../ledger/index.ts";
import type { Context } from "../types.ts";
import { createLoaders } from "./loaders.ts";

// The type itself lives in the leaf module src/types.ts; it is re-exported here for existing importers.
export type { Context } from "../types.ts";

export interface CreateContextOptions {
  request: Request;
  database: Database;
  ledger: Ledger;
  /** The caller, when the request's key was already checked (the gateway checks it at the door). */
  caller?: Caller | null;
}

export async function createContext({
  request,
  database,
  ledger,
  caller: known,
}: CreateContextOptions): Promise<Context> {
  const key = known === undefined ? presentedKey(request.headers) : null;
  const caller = known !== undefined ? known : key ? await authenticate(database, key, ledger.clock()) : null;
  const fallback = toLanguage(caller?.tenant.defaultLocale);
  const language = negotiateLanguage(request.headers.get("accept-language"), supportedLanguages, fallback);
  return {
    request,
    database,
    ledger,
    caller,
    language,
    loaders: createLoaders(ledger, caller?.tenant.id ?? null, language),
  };
}

/** Replaces the request's loaders with empty ones, after a write (see src/schema/plugins/fresh-loaders.ts). */
export function renewLoaders(context: Context): void {
  context.loaders = createLoaders(context.ledger, context.caller?.tenant.id ?? null, context.language);
}

// requireTenant lives with the refusal it throws (src/auth/unauthenticated.ts); re-exported for existing importers.
export { requireTenant } from "../auth/unauthenticated.ts";
