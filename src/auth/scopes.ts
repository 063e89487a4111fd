// API key scopes: what a key may do. `read` lets a key run queries and `write` lets it run mutations, so a
// reporting job or a dashboard can hold a key that cannot move credits even if it leaks.
//
// The check runs once per operation, before execution starts, rather than in each resolver: a refused
// mutation must not run any resolver at all, so nothing is written, and a new mutation cannot forget the
// check. A request without a valid key never gets this far: the gateway refuses it at the door
// (src/server/guards/authentication.ts).
import {
  BREAK,
  type DocumentNode,
  type ExecutionResult,
  getOperationAST,
  GraphQLError,
  Kind,
  type OperationDefinitionNode,
  visit,
} from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Language } from "../i18n/languages.ts";
import { translateError } from "../i18n/messages.ts";
import type { Context } from "../types.ts";
import type { ApiKeyScope } from "./api-keys.ts";

/** Every scope a key can hold, in the order listings show them. */
export const apiKeyScopes: readonly ApiKeyScope[] = ["read", "write"];

export function isApiKeyScope(value: string): value is ApiKeyScope {
  return (apiKeyScopes as readonly string[]).includes(value);
}

/**
 * The scopes an operation needs: `write` for a mutation, `read` for a query or subscription, and none for a
 * query that asks only for introspection (`__schema`, `__type`, `__typename`), which reveals no tenant data
 * and which tools such as GraphiQL send with whatever key they hold. A mutation that reads through a payload's
 * `query` field (the query root, for refetching in the same round trip) needs `read` as well: otherwise a key
 * without it could read the whole tenant through any mutation, even a refused one. Empty when the document
 * names no single operation; execution then reports that itself.
 */
export function requiredScopes(document: DocumentNode, operationName?: string | null): ApiKeyScope[] {
  const operation = getOperationAST(document, operationName ?? undefined);
  if (!operation) return [];
  if (operation.operation === "mutation") return selectsQueryRoot(document) ? ["write", "read"] : ["write"];
  if (operation.operation === "query" && isIntrospectionOnly(operation)) return [];
  return ["read"];
}

/**
 * Whether the document selects a field named `query` anywhere (in the operation or in any fragment): in a
 * mutation only the payloads' query root has that name. Looking at every fragment may ask for `read` where a
 * fragment is not used by this operation, never the other way round.
 */
function selectsQueryRoot(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field(node) {
      if (node.name.value !== "query") return;
      found = true;
      return BREAK;
    },
  });
  return found;
}

function isIntrospectionOnly(operation: OperationDefinitionNode): boolean {
  // Fragments at the top level could hide any field, so only plain fields are looked at; a query with a
  // top-level fragment needs `read` like any other.
  return operation.selectionSet.selections.every(
    (selection) => selection.kind === Kind.FIELD && selection.name.value.startsWith("__"),
  );
}

/** The top-level error for a key that lacks the scope, in the request's language, with HTTP status 403. */
export function forbidden(scope: ApiKeyScope, language: Language): GraphQLError {
  const message = translateError(
    { code: "FORBIDDEN", params: { scope }, message: "This API key does not have the scope this operation needs." },
    language,
  );
  return new GraphQLError(message, { extensions: { code: "FORBIDDEN", scope, http: { status: 403 } } });
}

/**
 * Refuses an operation whose API key lacks the scope it needs, before any resolver runs. Add it to the
 * gateway's plugins; it reads the caller and language from the request context built by createContext.
 * Typed as a plain Plugin so that it sits in the gateway's plugin list beside the others.
 */
export function useScopes(): Plugin {
  const check = ({ args, setResultAndStopExecution }: ExecutionHookPayload) => {
    const context = args.contextValue as Partial<Context>;
    const caller = context.caller;
    // Without a valid key there is nothing to check here: the gateway has refused such a request already,
    // and a server built without that guard leaves it to the fields, which answer UNAUTHENTICATED.
    if (!caller) return;
    const missing = requiredScopes(args.document, args.operationName).find((scope) => !caller.scopes.has(scope));
    if (missing === undefined) return;
    setResultAndStopExecution({ errors: [forbidden(missing, context.language ?? "en")] });
  };
  // Subscriptions do not go through `onExecute` but through `onSubscribe`, so both are checked.
  return { onExecute: check, onSubscribe: check };
}

/** What `onExecute` and `onSubscribe` both hand a plugin, as far as the check needs it. */
interface ExecutionHookPayload {
  args: { contextValue: unknown; document: DocumentNode; operationName?: string | null };
  setResultAndStopExecution(result: ExecutionResult): void;
}
