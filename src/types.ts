// Types the layers share, in a leaf module: it imports nothing of the application but types, so any module
// (the schema, the guards, the auth plugins) can name the request context without loading the server.
import type { Caller } from "./auth/api-keys.ts";
import type { Database } from "./db/client.ts";
import type { Language } from "./i18n/languages.ts";
import type { Ledger } from "./ledger/index.ts";
import type { Live } from "./server/live/subscriptions.ts";
import type { Loaders } from "./server/loaders.ts";

/** The GraphQL context: what every resolver receives for one request (built by server/context.ts). */
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
