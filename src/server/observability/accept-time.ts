// When the gateway accepted each HTTP request, so that the time a request waited before the gateway got to it
// is measured too.
//
// The request log's durationMs and http_request_duration_seconds start when Yoga starts handling a request.
// Under CPU starvation a request can wait seconds before that: its connection accepted but not yet read, its
// headers parsed but its body not yet read, while the event loop serves others. Clients see that wait; those
// two measures do not. The accept time is taken at the connection's accept for the first request on a
// connection, and when node:http has parsed the request's headers for later requests on a kept-alive
// connection (the earliest moment the process can see them). http_request_total_duration_seconds and the log's
// totalDurationMs run from there to the response.
import type { IncomingMessage, Server } from "node:http";
import type { Socket } from "node:net";

const socketAcceptedAt = new WeakMap<Socket, number>();
const requestAcceptedAt = new WeakMap<IncomingMessage, number>();

/** Records accept times on `server`'s connections and requests; call once, right after creating it. */
export function trackAcceptTimes(server: Server): void {
  server.prependListener("connection", (socket: Socket) => {
    socketAcceptedAt.set(socket, performance.now());
  });
  // Before the gateway's own handler, which starts handling the request.
  server.prependListener("request", (request: IncomingMessage) => {
    const acceptedAt = socketAcceptedAt.get(request.socket);
    // The connection's accept time counts only for its first request.
    if (acceptedAt !== undefined) socketAcceptedAt.delete(request.socket);
    requestAcceptedAt.set(request, acceptedAt ?? performance.now());
  });
}

/**
 * When the request behind a Yoga server context was accepted (performance.now() time), or undefined when it
 * did not come through a tracked node:http server (a test's in-process fetch).
 */
export function acceptedAt(serverContext: unknown): number | undefined {
  const request = (serverContext as { req?: IncomingMessage } | undefined)?.req;
  return request ? requestAcceptedAt.get(request) : undefined;
}
