// The operational endpoints: `/health` (liveness) and `/ready` (readiness).
//
// `/health` answers 200 while the process serves requests and touches nothing else, so that a slow
// database never gets a healthy process restarted. `/ready` answers 200 only when the database answers a
// trivial query within READY_TIMEOUT_MS, and 503 otherwise, so that a load balancer stops sending traffic
// to an instance that cannot serve it. Neither says why in detail: the reason goes to the log.
import type { Plugin } from "graphql-yoga";
import type { JsonLogger } from "./logging.ts";

export const healthEndpoint = "/health";
export const readyEndpoint = "/ready";

// A function rather than a shared object: a response may keep the object it was given as its headers, and
// later hooks add to them (X-Request-Id), which must not leak into the next response.
const jsonHeaders = () => ({ "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });

function probeEndpoint(path: string, answer: () => Promise<{ status: number; body: unknown }>): Plugin {
  return {
    async onRequest({ url, request, fetchAPI, endResponse }) {
      if (url.pathname !== path) return;
      if (request.method !== "GET" && request.method !== "HEAD") {
        endResponse(new fetchAPI.Response(null, { status: 405, headers: { allow: "GET, HEAD" } }));
        return;
      }
      const { status, body } = await answer();
      endResponse(new fetchAPI.Response(JSON.stringify(body), { status, headers: jsonHeaders() }));
    },
  };
}

/** Answers `GET /health` with 200 `{"status":"ok"}`. */
export function useHealthEndpoint(): Plugin {
  return probeEndpoint(healthEndpoint, async () => ({ status: 200, body: { status: "ok" } }));
}

export interface ReadinessOptions {
  /** A trivial database query; it resolves when the database answers. */
  probe: () => Promise<unknown>;
  timeoutMs: number;
  logger: JsonLogger;
}

/** Answers `GET /ready` with 200 `{"status":"ready"}`, or 503 `{"status":"unavailable"}`. */
export function useReadyEndpoint({ probe, timeoutMs, logger }: ReadinessOptions): Plugin {
  return probeEndpoint(readyEndpoint, async () => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        probe(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the database did not answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return { status: 200, body: { status: "ready" } };
    } catch (error) {
      logger.write("warn", "Not ready: database check failed", {
        reason: error instanceof Error ? error.message : String(error),
      });
      return { status: 503, body: { status: "unavailable" } };
    } finally {
      clearTimeout(timer);
    }
  });
}
