// Database faults as clients should see them: 503 with Retry-After and the code DATABASE_UNAVAILABLE, instead
// of a masked INTERNAL_SERVER_ERROR.
//
// Yoga masks every unexpected error ("Unexpected error.", INTERNAL_SERVER_ERROR) so that no SQL or stack
// trace reaches a client. A database that is restarting, a terminated connection or an exhausted pool is not
// unexpected in that sense, and a client should retry it rather than report a bug; src/db/faults.ts decides
// which errors those are. Ledger writes handle them themselves (retries, then LEDGER_BUSY in the payload);
// this covers everything else: reads, authentication, the directory's writes, and a write whose COMMIT
// outcome is unknown. The fault's details still go to the log, as for any masked error.
import type { GraphQLError } from "graphql";
import { createGraphQLError, maskError as yogaMaskError, type YogaServerOptions } from "graphql-yoga";
import { isCommitOutcomeUnknown, isDatabaseUnavailable } from "../../db/faults.ts";

export const databaseUnavailableCode = "DATABASE_UNAVAILABLE";

type MaskError = NonNullable<
  Exclude<YogaServerOptions<object, object>["maskedErrors"], boolean | undefined>["maskError"]
>;

/**
 * Yoga's `maskedErrors.maskError`: database faults become a 503 error with Retry-After, anything else is
 * masked as Yoga always does.
 */
export function databaseFaultMasking({ retryAfterSeconds }: { retryAfterSeconds: number }): MaskError {
  return (error, message, isDev) => {
    if (!isDatabaseUnavailable(error)) return yogaMaskError(error, message, isDev);
    const located = error as Partial<GraphQLError>;
    return createGraphQLError(
      isCommitOutcomeUnknown(error)
        ? "The database connection failed while the write was being committed, so it may or may not have been " +
            "written. Retry the request with the same idempotency key."
        : "The database is unavailable; retry shortly.",
      {
        ...(located.nodes ? { nodes: located.nodes } : {}),
        ...(located.path ? { path: located.path } : {}),
        extensions: {
          code: databaseUnavailableCode,
          http: { status: 503, headers: { "retry-after": String(retryAfterSeconds) } },
        },
      },
    );
  };
}
