// The GraphQL context: what every resolver receives for one request.
//
// A new context is created for each request, so everything that caches (the loaders) is scoped to one
// request and one tenant. The caller comes from the request's API key; without a valid key there is no
// tenant, and every field that reads or writes tenant data refuses with UNAUTHENTICATED.
import { authenticate, type Caller, presentedKey } from "../auth/api-keys.ts";
import type { Database } from "../db/client.ts";
import type { Tenant } from "../generated/postgres/client.ts";
import { negotiateLanguage } from "../i18n/accept-language.ts";
import { type Language, supportedLanguages, toLanguage } from "../i18n/languages.ts";
import { unauthenticated } from "../auth/unauthenticated.ts";
import type { Ledger } from "../ledger/index.ts";
import type { Live } from "./live/subscriptions.ts";
import { createLoaders, type Loaders } from "./loaders.ts";

export interface Context {
  /** The HTTP request being served (headers carry credentials and the preferred language). */
  request: Request;
  database: Database;
  ledger: Ledger;
  /** The authenticated caller, or null when the request carries no valid API key. */
  caller: Caller | null;
  /** The language of messages and type names: Accept-Language, else the tenant's default. */
  language: Language;
  loaders: Loaders;
  /** Live events and the subscription limits; absent outside a gateway (scripts and tests that build contexts). */
  live?: Live;
}

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

/** The caller's tenant; refuses the field with UNAUTHENTICATED when the request has no valid key. */
export function requireTenant(context: Context): Tenant {
  if (!context.caller) throw unauthenticated(context.language);
  return context.caller.tenant;
}
