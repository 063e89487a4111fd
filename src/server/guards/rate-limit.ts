// Rate limits: how many GraphQL requests one API key, or one client address without a valid key, may
// send per window.
//
// The counting is rate-limiter-flexible's: fixed windows of RATE_LIMIT_WINDOW_SECONDS, counted in this
// process's memory, or in Redis when REDIS_URL is set, where one Lua script increments and expires a
// counter atomically, so that every gateway instance sharing the Redis enforces one limit. When Redis is
// unreachable, each process falls back to counting in its own memory rather than refusing everybody or
// letting everybody through.
//
// A request is counted once, whatever it contains (a batch counts as one request; MAX_BATCH_SIZE and
// MAX_QUERY_COST bound what one request may ask for). Requests without any key are counted per address as
// they arrive, before anything is parsed. Requests with a key are counted once the key has been checked:
// a valid key is counted against the key, an invalid one against the address, so that inventing keys does
// not buy anybody fresh limits.
import { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { Plugin } from "graphql-yoga";
import { presentedKey } from "../../auth/api-keys.ts";
import type { Caller } from "../../auth/api-keys.ts";
import { clientAddress, type NodeServerContext } from "./client-address.ts";
import { guardErrorCodes, refusalError, refusalResponse, type RefusalOptions } from "./refusal.ts";

export interface RateLimitOptions {
  /** Requests per window for one API key; 0 turns the key limit off. */
  requests: number;
  /** Requests per window for one address without a valid key; 0 turns the address limit off. */
  anonymousRequests: number;
  windowSeconds: number;
  /** Redis shared by every instance; null counts in this process's memory. */
  redisUrl: string | null;
  trustedProxies: number;
  /** Where Redis trouble is reported. */
  warn: (message: string) => void;
  /** Keeps tests (and separate deployments sharing one Redis) from counting into each other's buckets. */
  keyPrefix?: string;
}

/** One counting decision, as the RateLimit headers report it. */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window ends and the count starts again. */
  resetSeconds: number;
}

export type RateLimitSubject = { kind: "key"; id: string } | { kind: "address"; address: string };

export interface RateLimiter {
  /** Counts one request for the subject; null when that kind of subject is not limited. */
  consume(subject: RateLimitSubject): Promise<RateLimitDecision | null>;
  /**
   * Resolves true once the shared counters can be used (at once without Redis), or false when Redis has
   * not answered within `timeoutMs`; until then requests are counted in memory.
   */
  ready(timeoutMs: number): Promise<boolean>;
  /** Closes the Redis connection, if any. */
  close(): Promise<void>;
}

export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  const prefix = options.keyPrefix ?? "ledger-gateway:rate-limit";
  const redis = options.redisUrl ? connectRedis(options.redisUrl, options.warn) : null;
  const limiter = (points: number, name: string): RateLimiterAbstract | null => {
    if (points === 0) return null;
    const common = { points, duration: options.windowSeconds, keyPrefix: `${prefix}:${name}` };
    if (!redis) return new RateLimiterMemory(common);
    return new RateLimiterRedis({
      ...common,
      storeClient: redis,
      // While the connection is down, requests go straight to the in-memory limiter instead of each
      // waiting for a command to time out.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(common),
    });
  };
  const byKey = limiter(options.requests, "key");
  const byAddress = limiter(options.anonymousRequests, "address");
  return {
    consume: (subject) =>
      subject.kind === "key" ? consumeOne(byKey, subject.id) : consumeOne(byAddress, subject.address),
    ready: (timeoutMs) => (redis ? redisReady(redis, timeoutMs) : Promise.resolve(true)),
    async close() {
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** The Redis connection the limiters share, warning once per outage. */
function connectRedis(url: string, warn: (message: string) => void): Redis {
  const redis = new Redis(url, {
    // A request must not wait on a Redis that does not answer: one attempt, a short timeout, then the
    // in-memory insurance limiter decides.
    maxRetriesPerRequest: 1,
    commandTimeout: 1_000,
    connectTimeout: 2_000,
    // Reconnect forever, but no faster than every two seconds, so an outage does not become a busy loop.
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  // One warning per outage rather than one per reconnection attempt.
  let healthy = true;
  redis.on("error", (error: Error) => {
    if (!healthy) return;
    healthy = false;
    warn(`Rate limits: Redis is unavailable (${error.message}); counting in this process's memory until it is back`);
  });
  redis.on("ready", () => {
    if (!healthy) warn("Rate limits: Redis is available again");
    healthy = true;
  });
  return redis;
}

/** Counts one request in the bucket; null when that kind of subject is not limited (no limiter). */
async function consumeOne(target: RateLimiterAbstract | null, bucket: string): Promise<RateLimitDecision | null> {
  if (!target) return null;
  let result: RateLimiterRes;
  let allowed: boolean;
  try {
    result = await target.consume(bucket);
    allowed = true;
  } catch (rejection) {
    // rate-limiter-flexible rejects with the counter state when the limit is exceeded, and with an
    // Error only when the store failed and no insurance limiter could answer.
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    result = rejection;
    allowed = false;
  }
  return {
    allowed,
    limit: target.points,
    remaining: Math.max(0, result.remainingPoints),
    resetSeconds: Math.max(1, Math.ceil(result.msBeforeNext / 1000)),
  };
}

/** True once the connection is ready, or false when it is not ready within timeoutMs. */
async function redisReady(connection: Redis, timeoutMs: number): Promise<boolean> {
  if (connection.status === "ready") return true;
  return await new Promise<boolean>((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      connection.off("ready", onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    connection.on("ready", onReady);
  });
}

/** The standard RateLimit header fields (IETF httpapi draft), plus Retry-After when refused. */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const headers: Record<string, string> = {
    "ratelimit-limit": String(decision.limit),
    "ratelimit-remaining": String(decision.remaining),
    "ratelimit-reset": String(decision.resetSeconds),
  };
  if (!decision.allowed) headers["retry-after"] = String(decision.resetSeconds);
  return headers;
}

function rateLimitedRefusal(decision: RateLimitDecision): RefusalOptions {
  return {
    status: 429,
    code: guardErrorCodes.rateLimited,
    message: `Too many requests: the limit is ${decision.limit} per window; retry in ${decision.resetSeconds} s.`,
    headers: rateLimitHeaders(decision),
  };
}

/**
 * Rate limiting for one gateway. `plugin` counts requests without any key and adds the RateLimit headers
 * to responses; `checkCaller` is called while the GraphQL context is built, once the key is checked.
 */
export function createRateLimitGuard(
  limiter: RateLimiter,
  options: { graphqlEndpoint: string; trustedProxies: number },
) {
  // The decision (or the pending one) for each request: batched operations build one context each, and
  // all of them must wait for the same single count.
  const decisions = new WeakMap<Request, Promise<RateLimitDecision | null>>();
  const addresses = new WeakMap<Request, string>();

  const isGraphQLRequest = (request: Request, url: URL) =>
    url.pathname === options.graphqlEndpoint &&
    (request.method === "POST" || (request.method === "GET" && url.searchParams.has("query")));

  const plugin: Plugin = {
    async onRequest({ request, url, serverContext, fetchAPI, endResponse }) {
      if (!isGraphQLRequest(request, url)) return;
      const address = clientAddress(request, serverContext as NodeServerContext, options.trustedProxies);
      addresses.set(request, address);
      // With a key, counting waits for the key to be checked (checkCaller).
      if (presentedKey(request.headers) !== null) return;
      const pending = limiter.consume({ kind: "address", address });
      decisions.set(request, pending);
      const decision = await pending;
      if (decision && !decision.allowed) {
        endResponse(
          refusalResponse(fetchAPI, rateLimitedRefusal(decision), request, {
            limit: String(decision.limit),
            retryAfter: String(decision.resetSeconds),
          }),
        );
      }
    },
    onResponse({ request, response }) {
      const pending = decisions.get(request);
      if (!pending) return;
      // The decision is settled: every path that sets one awaits it before the response exists.
      return pending.then((decision) => {
        if (!decision) return;
        for (const [name, value] of Object.entries(rateLimitHeaders(decision))) {
          if (!response.headers.has(name)) response.headers.set(name, value);
        }
      });
    },
  };

  /** Counts a request that presented a key; throws RATE_LIMITED when it is over its limit. */
  async function checkCaller(request: Request, caller: Caller | null): Promise<void> {
    let pending = decisions.get(request);
    if (!pending) {
      const subject: RateLimitSubject = caller
        ? { kind: "key", id: caller.apiKey.id }
        : { kind: "address", address: addresses.get(request) ?? "unknown" };
      pending = limiter.consume(subject);
      decisions.set(request, pending);
    }
    const decision = await pending;
    if (decision && !decision.allowed) throw refusalError(rateLimitedRefusal(decision));
  }

  return { plugin, checkCaller };
}
