// The address a request comes from, for limits on requests that carry no valid API key.
//
// Behind load balancers the connection comes from the last proxy, and the client's address is in
// X-Forwarded-For. Only the entries appended by proxies the operator trusts are believable (a client can
// send any X-Forwarded-For it likes), so the address is taken TRUSTED_PROXIES entries from the end.
import type { IncomingMessage } from "node:http";
import { defined } from "../../assert.ts";

/** What node:http hands Yoga as the server context; empty when a test calls `gateway.fetch` directly. */
export interface NodeServerContext {
  req?: IncomingMessage;
}

/** The address every in-process request (no socket) shares. */
export const inProcessAddress = "in-process";

export function clientAddress(
  request: Request,
  serverContext: NodeServerContext | undefined,
  trustedProxies: number,
): string {
  if (trustedProxies > 0) {
    const forwarded = (request.headers.get("x-forwarded-for") ?? "")
      .split(",")
      .map((entry) => entry.trim())
      .filter(Boolean);
    if (forwarded.length > 0) {
      // With n trusted proxies, the last n entries were written by them, and the n-th from the end is the
      // address the outermost trusted proxy saw. A shorter list means the client talked to it directly.
      return defined(forwarded[Math.max(0, forwarded.length - trustedProxies)], "an X-Forwarded-For address");
    }
  }
  return serverContext?.req?.socket?.remoteAddress ?? inProcessAddress;
}
