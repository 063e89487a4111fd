// Structured logs: every line is one JSON object, and every request gets one line when it is answered.
//
// The request line has a request id (the client's X-Request-Id when it sent a usable one, otherwise a new
// UUID, echoed in the response either way), method, path, status, duration, the GraphQL operation name(s)
// and the tenant. It never has the API key, the Authorization header or the query string, which can hold
// variables. The same logger serves Yoga's own messages, so nothing the gateway writes is unstructured.
import { randomUUID } from "node:crypto";
import { getOperationAST } from "graphql";
import type { Plugin, YogaLogger } from "graphql-yoga";
import type { LogLevel } from "../../config/config.ts";
import { acceptedAt } from "./accept-time.ts";

export type LogWriter = (line: string) => void;

const severity: Record<Exclude<LogLevel, "silent">, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export const requestIdHeader = "x-request-id";
/** What a client's own request id may look like; anything else is replaced, so it cannot forge log lines. */
const usableRequestId = /^[A-Za-z0-9._:@-]{1,128}$/;

export interface JsonLogger extends YogaLogger {
  /** Writes one entry with the given fields, if `level` is enabled. */
  write(level: Exclude<LogLevel, "silent">, message: string, fields?: Record<string, unknown>): void;
}

export function createJsonLogger(
  level: LogLevel,
  writer: LogWriter = (line) => process.stdout.write(`${line}\n`),
): JsonLogger {
  const threshold = level === "silent" ? Number.POSITIVE_INFINITY : severity[level];
  const write: JsonLogger["write"] = (entryLevel, message, fields = {}) => {
    if (severity[entryLevel] < threshold) return;
    writer(JSON.stringify({ time: new Date().toISOString(), level: entryLevel, msg: message, ...fields }));
  };
  // Yoga's logger receives a message and arbitrary values, errors among them.
  const fromArgs =
    (entryLevel: Exclude<LogLevel, "silent">) =>
    (...args: unknown[]) => {
      const [first, ...rest] = args;
      const message = first instanceof Error ? first.message : String(first);
      const details = (first instanceof Error ? [first, ...rest] : rest).map(describe);
      write(entryLevel, message, details.length > 0 ? { details } : {});
    };
  return { write, debug: fromArgs("debug"), info: fromArgs("info"), warn: fromArgs("warn"), error: fromArgs("error") };
}

function describe(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

interface RequestRecord {
  id: string;
  startedAt: number;
  tenantId: string | null;
  operationNames: string[];
}

/**
 * The per-request bookkeeping shared by the request log and the code that learns about the request later
 * (the GraphQL context knows the tenant).
 */
export function createRequestLog(logger: JsonLogger) {
  const records = new WeakMap<Request, RequestRecord>();

  const plugin: Plugin = {
    onRequest({ request }) {
      const given = request.headers.get(requestIdHeader);
      records.set(request, {
        id: given && usableRequestId.test(given) ? given : randomUUID(),
        startedAt: performance.now(),
        tenantId: null,
        operationNames: [],
      });
    },
    onParse({ context }) {
      const request = (context as { request?: Request }).request;
      const record = request ? records.get(request) : undefined;
      if (!record) return;
      return ({ result }) => {
        if (result instanceof Error) return;
        const operationName = (context as { params?: { operationName?: string } }).params?.operationName;
        const name = getOperationAST(result, operationName)?.name?.value;
        if (name) record.operationNames.push(name);
      };
    },
    onResponse({ request, response, serverContext }) {
      const record = records.get(request);
      if (!record) return;
      const now = performance.now();
      const accepted = acceptedAt(serverContext);
      response.headers.set(requestIdHeader, record.id);
      const url = new URL(request.url, "http://gateway.invalid");
      logger.write("info", "request", {
        requestId: record.id,
        method: request.method,
        path: url.pathname,
        status: response.status,
        durationMs: Math.round((now - record.startedAt) * 10) / 10,
        // From the request's accept (see accept-time.ts): includes the time it waited before durationMs began.
        totalDurationMs: Math.round((now - Math.min(record.startedAt, accepted ?? record.startedAt)) * 10) / 10,
        operationName: record.operationNames.length > 0 ? record.operationNames.join(",") : null,
        tenantId: record.tenantId,
      });
    },
  };

  return {
    plugin,
    /** Records the tenant a request was authenticated as, for its log line. */
    noteTenant(request: Request, tenantId: string | null): void {
      const record = records.get(request);
      if (record && tenantId) record.tenantId = tenantId;
    },
    /** The id a request is logged and answered under. */
    requestId(request: Request): string | undefined {
      return records.get(request)?.id;
    },
  };
}
