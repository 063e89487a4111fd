// Reading the GraphQL parameters out of a request, strictly: whatever part of a request is malformed, the answer is
// 400 BAD_REQUEST in the body shape of every other refusal, never a 500.
//
// Yoga reads a GET's query string (and an application/x-www-form-urlencoded body) with a bare JSON.parse of
// `variables` and `extensions`, so a client that sent `variables={bad` got the SyntaxError masked as
// INTERNAL_SERVER_ERROR (500), with an error-level stack trace in the log: anyone, without a key, could fill the
// log with them. Its multipart parser refuses a missing or unreadable `operations` field without a status or code,
// which also ended as a 500. The same mistake in a JSON body was already 400 BAD_REQUEST.
//
// A parameter given twice (`variables={}&variables={"a":1}`) is refused too: Yoga would take the first, while a
// proxy or cache in front of the gateway may read the last, and the two would then disagree on what ran.
import { GraphQLError } from "graphql";
import type { GraphQLParams, Plugin } from "graphql-yoga";
import { guardErrorCodes } from "./guards/refusal.ts";

const parameterNames = ["query", "operationName", "variables", "extensions"] as const;
const jsonParameters = new Set<string>(["variables", "extensions"]);

function badRequest(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: guardErrorCodes.badRequest, http: { status: 400 } } });
}

/** The GraphQL parameters of a query string or form body, as Yoga reads them, but refusing what it would choke on. */
export function paramsFromSearch(search: URLSearchParams): GraphQLParams {
  const params: Record<string, unknown> = {};
  for (const name of parameterNames) {
    const values = search.getAll(name);
    if (values.length > 1) throw badRequest(`The parameter "${name}" is given ${values.length} times; give it once.`);
    // An empty value counts as absent, as in Yoga's own reading.
    const value = values[0] || undefined;
    if (value === undefined) continue;
    if (!jsonParameters.has(name)) {
      params[name] = value;
      continue;
    }
    try {
      params[name] = JSON.parse(value);
    } catch {
      throw badRequest(`The parameter "${name}" is not valid JSON.`);
    }
  }
  return params as GraphQLParams;
}

/** Yoga's own test for a content type (the first of a list, with or without parameters). */
function hasContentType(request: Request, expected: string): boolean {
  const contentType = request.headers.get("content-type")?.split(",")[0];
  return contentType === expected || !!contentType?.startsWith(`${expected};`);
}

function isAbort(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === "AbortError";
}

/**
 * Replaces Yoga's readers of query strings and form bodies with strict ones, and gives the refusals of its other
 * readers (multipart) the status and code they lack. Registered after Yoga's own request parsers, whose choice it
 * sees; Yoga's body-size limit wraps whatever is chosen here.
 */
export function useStrictRequestParsing(): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser }) {
      // No parser: Yoga answers 415 (or an earlier hook has answered already).
      if (!requestParser) return;
      if (request.method === "GET") {
        setRequestParser((request) => paramsFromSearch(new URL(request.url, "http://localhost").searchParams));
        return;
      }
      if (request.method === "POST" && hasContentType(request, "application/x-www-form-urlencoded")) {
        setRequestParser(async (request) => paramsFromSearch(new URLSearchParams(await request.text())));
        return;
      }
      const original = requestParser;
      setRequestParser(async (request) => {
        try {
          return await original(request);
        } catch (error) {
          if (isAbort(error)) throw error;
          // A refusal that already says its status (Yoga's JSON reader, the body-size limit) stays as it is.
          if (error instanceof GraphQLError && error.extensions.http) throw error;
          if (error instanceof GraphQLError || error instanceof SyntaxError) {
            throw badRequest(`The request body could not be read: ${error.message}`);
          }
          throw error;
        }
      });
    },
  };
}
