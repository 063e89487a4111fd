// The single place where per-request DataLoaders are built.
//
// A DataLoader caches what it loads for as long as it lives, so loaders must never outlive one request:
// a module-level loader would serve one tenant's rows to another and keep stale balances forever.
// `createContext()` calls `createLoaders()` once per request, and resolvers reach the loaders through the
// context. (Types declared with Pothos' dataloader plugin, such as `builder.loadableObject`, keep their own
// loaders per context object; this is for the loaders that resolvers call directly.)
import type { Database } from "../db/client.ts";

/** The loaders available to resolvers. Empty until the first domain that batches its reads arrives. */
export type Loaders = Record<never, never>;

export function createLoaders(database: Database): Loaders {
  // Loaders read through `database.read`; nothing needs it yet.
  void database;
  return {};
}
