// Trusted documents (persisted operations) and automatic persisted queries (APQ).
//
// A frontend's build knows every operation it will ever send. Relay's compiler (`persistConfig`) and
// graphql-codegen's client preset (`persistedDocuments`) write them to a manifest, a JSON object from
// document id (a hash) to document text. Given that file (PERSISTED_OPERATIONS_FILE), the gateway runs any of
// those documents by id, and with ARBITRARY_OPERATIONS=false it runs nothing else: a stolen key can then only
// send what the frontend sends, and no one can probe the schema with documents of their own.
//
// APQ (Apollo's protocol, also spoken by urql and graphql-request) is a bandwidth optimisation, not a safety
// one: a client sends the hash alone, and on PERSISTED_QUERY_NOT_FOUND sends the text with its hash once,
// which the gateway checks and keeps (a bounded LRU per process). It registers arbitrary documents, so it
// is off whenever ARBITRARY_OPERATIONS is false.
//
// Both are Yoga's own plugins. With a manifest, the persisted-operations plugin answers every request that
// sends an id (from the manifest first, then from what APQ has registered); the APQ plugin after it only
// registers documents sent with their hash, and checks the hash. Without a manifest, the APQ plugin does both.
import { readFileSync } from "node:fs";
import { parse } from "graphql";
import { createInMemoryAPQStore, useAPQ } from "@graphql-yoga/plugin-apq";
import { usePersistedOperations } from "@graphql-yoga/plugin-persisted-operations";
import type { GraphQLParams, Plugin, YogaInitialContext } from "graphql-yoga";

/** The stable codes of the refusals below; the APQ plugin's own two are the protocol's. */
export const persistedOperationCodes = {
  /** No registered document has the id (and APQ does not know the hash). HTTP 404, as APQ clients expect. */
  notFound: "PERSISTED_QUERY_NOT_FOUND",
  /** An APQ registration whose hash is not the SHA-256 of the document sent with it. HTTP 400. */
  mismatch: "PERSISTED_QUERY_MISMATCH",
  /** A document sent as text to a deployment that accepts only registered ones. HTTP 400. */
  only: "PERSISTED_QUERY_ONLY",
  /** A request with neither a document nor a document id. HTTP 400. */
  idRequired: "PERSISTED_QUERY_ID_REQUIRED",
} as const;

export interface PersistedOperationsOptions {
  persistedOperationsFile: string | null;
  arbitraryOperations: boolean;
  apqCacheSize: number;
}

/**
 * Document ids may carry the hash algorithm's name, as the GraphQL-over-HTTP persisted documents proposal
 * writes them (`sha256:<hex>`); graphql-codegen and Relay write the bare hash. Both spellings name one document.
 */
function normalizeId(id: string): string {
  return id.startsWith("sha256:") ? id.slice("sha256:".length) : id;
}

/**
 * Reads a manifest and checks every document parses, so that a broken build fails the gateway's start
 * rather than its first request. Throws an Error naming the file and the offending id.
 */
export function loadPersistedOperations(file: string): ReadonlyMap<string, string> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`PERSISTED_OPERATIONS_FILE ${file} cannot be read as JSON: ${(error as Error).message}`);
  }
  if (manifest === null || typeof manifest !== "object" || Array.isArray(manifest))
    throw new Error(`PERSISTED_OPERATIONS_FILE ${file} must hold a JSON object from document id to document text`);
  const documents = new Map<string, string>();
  for (const [id, document] of Object.entries(manifest)) {
    if (typeof document !== "string")
      throw new Error(`PERSISTED_OPERATIONS_FILE ${file}: the document of "${id}" is not a string`);
    try {
      parse(document);
    } catch (error) {
      throw new Error(
        `PERSISTED_OPERATIONS_FILE ${file}: the document of "${id}" is not GraphQL: ${(error as Error).message}`,
      );
    }
    documents.set(normalizeId(id), document);
  }
  return documents;
}

/**
 * The id a request names its document by: the APQ extension (`extensions.persistedQuery.sha256Hash`, which
 * Apollo Client and urql send, and Yoga's default) or `documentId` (the GraphQL-over-HTTP proposal's field,
 * which graphql-codegen's documentation and Relay's `doc_id` convention map to).
 */
function persistedOperationId(params: GraphQLParams & { documentId?: unknown }): string | null {
  const persistedQuery = (params.extensions as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } })
    ?.persistedQuery;
  if (persistedQuery?.version === 1 && typeof persistedQuery.sha256Hash === "string") return persistedQuery.sha256Hash;
  if (typeof params.documentId === "string") return params.documentId;
  return null;
}

const refusal = (message: string, code: string, status: number) => ({
  message,
  extensions: { code, http: { status } },
});

/** The plugins for the configured mix of trusted documents and APQ; none when neither is configured. */
export function usePersistedDocuments(options: PersistedOperationsOptions): Plugin[] {
  const manifest = options.persistedOperationsFile ? loadPersistedOperations(options.persistedOperationsFile) : null;
  const apqStore =
    options.arbitraryOperations && options.apqCacheSize > 0
      ? createInMemoryAPQStore({ max: options.apqCacheSize })
      : null;
  if (!manifest) return apqStore ? [useAPQ({ store: apqStore })] : [];

  // The operations (one request may batch several) whose document was found by id: the APQ plugin must not
  // check a manifest id as an APQ hash (Relay may hash with MD5), nor keep manifest documents in its cache.
  const resolvedById = new WeakSet<object>();
  const persisted = usePersistedOperations<YogaInitialContext>({
    allowArbitraryOperations: options.arbitraryOperations,
    extractPersistedOperationId: persistedOperationId,
    getPersistedOperation: async (id, _request, context) => {
      const document = manifest.get(normalizeId(id)) ?? (await apqStore?.get(id)) ?? null;
      if (document !== null) resolvedById.add(context);
      return document;
    },
    customErrors: {
      // The APQ protocol's message and code, so that an APQ client sends the document next.
      notFound: refusal("PersistedQueryNotFound", persistedOperationCodes.notFound, 404),
      persistedQueryOnly: refusal(
        "This API accepts only registered documents: send the document's id (extensions.persistedQuery.sha256Hash " +
          "or documentId) instead of its text.",
        persistedOperationCodes.only,
        400,
      ),
      keyNotFound: refusal(
        "The request names no document: send a document id (extensions.persistedQuery.sha256Hash or documentId).",
        persistedOperationCodes.idRequired,
        400,
      ),
    },
  });
  if (!apqStore) return [persisted];
  const apq = useAPQ({ store: apqStore });
  return [
    persisted,
    {
      onParams(payload) {
        if (resolvedById.has(payload.context)) return;
        return apq.onParams?.(payload);
      },
    },
  ];
}
