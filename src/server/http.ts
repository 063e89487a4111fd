// Serves the gateway over node:http and shuts it down gracefully.
//
// On SIGINT or SIGTERM the server stops accepting connections, lets in-flight requests finish (for at most
// SHUTDOWN_TIMEOUT_MS), closes the keep-alive connections left open, runs `onShutdown` (which closes the
// database) and exits with code 0. Deployments send SIGTERM before replacing a process, so a rolling
// restart drops no request that can finish in time.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Config } from "../config/config.ts";
import { trackAcceptTimes } from "./observability/accept-time.ts";
import type { Gateway } from "./yoga.ts";

/** How long a client may take to send its request headers, and its whole request. */
export const requestHeadersTimeoutMs = 20_000;
export const requestTimeoutMs = 60_000;

/** Where shutdown signals come from; `process` unless a test provides its own. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

export interface HttpServerOptions {
  /** Runs once every connection is closed, before the process exits: release the database here. */
  onShutdown?: () => void | Promise<void>;
  /**
   * Signals that start a graceful shutdown, by default SIGINT and SIGTERM from `process`. An empty list
   * installs no handler: the caller (a test) shuts down with `shutdown()` and the process does not exit.
   */
  signals?: readonly NodeJS.Signals[];
  signalSource?: SignalSource;
  /** Ends the process after a signal-initiated shutdown; `process.exit` unless replaced. */
  exit?: (code: number) => void;
}

export interface RunningHttpServer {
  server: Server;
  /** The port actually bound, which differs from the configured one when that is 0. */
  port: number;
  /**
   * Stops the server gracefully and runs `onShutdown`. Resolves once done; later calls return the same
   * promise. `forcedConnections` counts connections closed with a request still running at the timeout.
   */
  shutdown(reason?: string): Promise<{ forcedConnections: number }>;
}

export async function startHttpServer(
  gateway: Gateway,
  config: Pick<Config, "port" | "host" | "shutdownTimeoutMs">,
  options: HttpServerOptions = {},
): Promise<RunningHttpServer> {
  const { onShutdown, signals = ["SIGINT", "SIGTERM"], signalSource = process } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const served = serve(gateway);
  await listen(served.server, config.port, config.host);
  const { port } = served.server.address() as AddressInfo;
  let removeSignalListeners = () => {};
  const shutdown = gracefulShutdown(
    served,
    gateway.logger,
    config.shutdownTimeoutMs,
    async () => {
      try {
        await gateway.dispose();
        await onShutdown?.();
      } finally {
        removeSignalListeners();
      }
    },
    () => gateway.live.endAll(),
  );
  removeSignalListeners = onSignals(signals, signalSource, served, shutdown, gateway.logger, exit);
  return { server: served.server, port, shutdown };
}

/** The node:http server and what shutdown needs to know of the requests it is serving. */
interface ServedRequests {
  server: Server;
  /** Responses not yet finished, so that shutdown can tell their connections not to stay open. */
  openResponses: Set<ServerResponse>;
  shuttingDown: boolean;
}

/** A node:http server handing every request to the gateway, with bounded waits for slow clients. */
function serve(gateway: Gateway): ServedRequests {
  const served: ServedRequests = { server: createServer(), openResponses: new Set(), shuttingDown: false };
  served.server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    served.openResponses.add(response);
    response.once("close", () => served.openResponses.delete(response));
    // A request that arrives during shutdown on an already open keep-alive connection is still served,
    // but its connection closes after the response.
    if (served.shuttingDown) response.setHeader("connection", "close");
    gateway(request, response);
  });
  trackAcceptTimes(served.server);
  // Slow clients hold a connection (and a socket) while they trickle their request in; these bound how long
  // that may take, well below Node's defaults (60 s for headers, 5 min for the whole request), so that a
  // few thousand slow connections cannot starve everybody else. Legitimate requests are small
  // (MAX_REQUEST_BYTES) and arrive in milliseconds.
  served.server.headersTimeout = requestHeadersTimeoutMs;
  served.server.requestTimeout = requestTimeoutMs;
  return served;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/**
 * The shutdown of RunningHttpServer: stop listening, let running requests finish for at most `timeoutMs`,
 * then close what is left and run `release`. Later calls return the first call's promise.
 */
function gracefulShutdown(
  served: ServedRequests,
  logger: Gateway["logger"],
  timeoutMs: number,
  release: () => Promise<void>,
  endStreams: () => void,
): RunningHttpServer["shutdown"] {
  const { server, openResponses } = served;
  let shutdownPromise: Promise<{ forcedConnections: number }> | undefined;
  return (reason = "Shutdown requested") => {
    shutdownPromise ??= (async () => {
      served.shuttingDown = true;
      logger.info(
        `${reason}: no longer accepting connections; waiting up to ${timeoutMs} ms for ` +
          `${openResponses.size} in-flight request(s)`,
      );
      // close() stops listening at once and calls back when the last connection has closed.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Each running request's connection closes after its response instead of staying open for the
      // next request; connections already idle are closed now.
      for (const response of openResponses) {
        if (!response.headersSent) response.setHeader("connection", "close");
      }
      server.closeIdleConnections();
      // Live subscriptions would otherwise stay open until the timeout; ended now, their clients reconnect to
      // another instance at once and catch up by sequence number.
      endStreams();

      let forcedConnections = 0;
      const timer = setTimeout(() => {
        forcedConnections = openResponses.size;
        logger.warn(`${forcedConnections} request(s) still running after ${timeoutMs} ms; closing them`);
        server.closeAllConnections();
      }, timeoutMs);
      await closed;
      clearTimeout(timer);
      await release();
      logger.info("Shutdown complete");
      return { forcedConnections };
    })();
    return shutdownPromise;
  };
}

/**
 * Installs the signal handlers and returns what removes them. The first signal starts a graceful shutdown;
 * another one means the operator does not want to wait.
 */
function onSignals(
  signals: readonly NodeJS.Signals[],
  signalSource: SignalSource,
  served: ServedRequests,
  shutdown: RunningHttpServer["shutdown"],
  logger: Gateway["logger"],
  exit: (code: number) => void,
): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (served.shuttingDown) {
      logger.warn(`Received ${signal} during shutdown; exiting without waiting`);
      exit(1);
      return;
    }
    shutdown(`Received ${signal}`).then(
      () => exit(0),
      (error: unknown) => {
        logger.error("Shutdown failed:", error);
        exit(1);
      },
    );
  };
  const listeners = signals.map((signal) => {
    const listener = () => onSignal(signal);
    signalSource.on(signal, listener);
    return { signal, listener };
  });
  return () => {
    for (const { signal, listener } of listeners) signalSource.off(signal, listener);
  };
}
