// Global IDs (Relay): "Type:databaseId", base64-encoded, opaque to clients. Mutations take IDs as plain `ID`
// arguments and decode them here, so that a malformed ID or one of the wrong type is a user error with a
// code (INVALID_ID) rather than a fault, and an ID of another tenant reads exactly like a missing one.
import { PothosValidationError } from "@pothos/core";
import { decodeGlobalID, encodeGlobalID } from "@pothos/plugin-relay";
import { GraphQLError } from "graphql";
import { isAsyncIterable, type Plugin } from "graphql-yoga";
import { translateError } from "../i18n/messages.ts";
import { databaseIdPattern } from "../ledger/ids.ts";

export const nodeTypeNames = [
  "Customer",
  "CreditAccount",
  "CreditAction",
  "CreditGrant",
  "CreditHold",
  "Store",
  "Partner",
] as const;
export type NodeTypeName = (typeof nodeTypeNames)[number];

export function isNodeTypeName(name: string): name is NodeTypeName {
  return (nodeTypeNames as readonly string[]).includes(name);
}

/** The database id inside a global ID of the given type, or null when it is not one. */
export function decodeId(globalId: string, type: NodeTypeName): string | null {
  try {
    const decoded = decodeGlobalID(globalId);
    return decoded.typename === type && databaseIdPattern.test(decoded.id) ? decoded.id : null;
  } catch {
    return null;
  }
}

/**
 * The node type a well-formed global ID names, whichever type was asked for, so that a refusal can say "the ID
 * of a CreditGrant, not of a CreditAccount"; null when it is malformed or names none of the API's node types
 * (a client's own text is not echoed as a type name).
 */
export function nodeTypeOf(globalId: string): NodeTypeName | null {
  try {
    const decoded = decodeGlobalID(globalId);
    return isNodeTypeName(decoded.typename) && databaseIdPattern.test(decoded.id) ? decoded.typename : null;
  } catch {
    return null;
  }
}

export function encodeId(type: NodeTypeName, id: string): string {
  return encodeGlobalID(type, id);
}

/**
 * Gives the errors of malformed global IDs in `node`, `nodes` and other ID arguments the relay plugin
 * decodes (they are raised while it reads the arguments, before any resolver) the stable code INVALID_ID
 * and a message in the request's language, like every other refusal of the API.
 */
export function useGlobalIdErrors(): Plugin {
  return {
    onExecute({ args }) {
      const language = (args.contextValue as { language?: string }).language ?? "en";
      return {
        onExecuteDone({ result, setResult }) {
          if (isAsyncIterable(result) || !result.errors?.some(isGlobalIdError)) return;
          setResult({
            ...result,
            errors: result.errors.map((error) =>
              isGlobalIdError(error)
                ? new GraphQLError(
                    translateError(
                      { code: "INVALID_ID", params: globalIdParams(error), message: error.message },
                      language,
                    ),
                    {
                      nodes: error.nodes,
                      path: error.path,
                      originalError: error.originalError,
                      extensions: { code: "INVALID_ID" },
                    },
                  )
                : error,
            ),
          });
        },
      };
    },
  };
}

/**
 * What the message of a refused `node(id:)` or `nodes(ids:)` can name: the type expected, which is any Node
 * (the plugin refuses only IDs that decode to no type at all). Other refusals of the plugin name nothing.
 */
function globalIdParams(error: GraphQLError): Record<string, string> {
  return error.originalError?.message.startsWith("Invalid global ID") ? { expectedType: "Node" } : {};
}

function isGlobalIdError(error: GraphQLError): boolean {
  return error.originalError instanceof PothosValidationError;
}
