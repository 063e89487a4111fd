// The GraphQL context: what every resolver receives for one request.
//
// A new context is created for each request, so anything that caches (the loaders) is scoped to it.
import type { Database } from "../db/client.ts";
import { createLoaders, type Loaders } from "./loaders.ts";

export interface Context {
  /** The HTTP request being served (headers carry credentials and the preferred language). */
  request: Request;
  database: Database;
  loaders: Loaders;
}

export interface CreateContextOptions {
  request: Request;
  database: Database;
}

export function createContext({ request, database }: CreateContextOptions): Context {
  return { request, database, loaders: createLoaders(database) };
}
