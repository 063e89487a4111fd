// How live events reach the subscribers of every gateway instance, chosen from the configuration:
//
// - Redis pub/sub (@graphql-yoga/redis-event-target over ioredis) when REDIS_URL is set: the instances
//   already share it for rate limits, and it is the transport Yoga documents for several replicas.
// - PostgreSQL LISTEN/NOTIFY (postgres-event-target.ts) when there is no Redis and the database is
//   PostgreSQL: the instances share the database anyway, so no further service is needed.
// - This process's memory otherwise: the embedded SQLite database serves one process.
import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import { Redis } from "ioredis";
import { createLivePubSub, type LiveEventTarget, type LivePubSub } from "./events.ts";
import { createPostgresEventTarget } from "./postgres-event-target.ts";

export type LiveTransportKind = "memory" | "redis" | "postgres";

export interface LiveTransport {
  kind: LiveTransportKind;
  pubSub: LivePubSub;
  /** Resolves true once subscriptions on this instance will receive events published elsewhere. */
  ready(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface LiveTransportOptions {
  redisUrl: string | null;
  /** The PostgreSQL database's URL, or null on SQLite. */
  postgresUrl: string | null;
  warn: (message: string) => void;
}

export function createLiveTransport(options: LiveTransportOptions): LiveTransport {
  if (options.redisUrl) return redisTransport(options.redisUrl, options.warn);
  if (options.postgresUrl) {
    const target = createPostgresEventTarget({
      url: options.postgresUrl,
      onError: (message, error) =>
        options.warn(`Live events: ${message}${error instanceof Error ? ` (${error.message})` : ""}`),
    });
    return { kind: "postgres", pubSub: createLivePubSub(target.eventTarget), ready: target.ready, close: target.close };
  }
  return { kind: "memory", pubSub: createLivePubSub(), ready: async () => true, close: async () => {} };
}

function redisTransport(url: string, warn: (message: string) => void): LiveTransport {
  const settings = {
    // Reconnect forever, but no faster than every two seconds; ioredis subscribes again to every channel
    // after a reconnection. Events published meanwhile are lost, which the sequence numbers reveal.
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2_000),
    connectTimeout: 2_000,
  };
  const publishClient = new Redis(url, { ...settings, maxRetriesPerRequest: 1 });
  const subscribeClient = new Redis(url, settings);
  // One warning per outage rather than one per reconnection attempt.
  let healthy = true;
  for (const client of [publishClient, subscribeClient]) {
    client.on("error", (error: Error) => {
      if (!healthy) return;
      healthy = false;
      warn(`Live events: Redis is unavailable (${error.message}); events published meanwhile are lost`);
    });
    client.on("ready", () => {
      if (!healthy) warn("Live events: Redis is available again");
      healthy = true;
    });
  }
  const eventTarget = createRedisEventTarget({ publishClient, subscribeClient }) as unknown as LiveEventTarget;
  return {
    kind: "redis",
    pubSub: createLivePubSub(eventTarget),
    async ready(timeoutMs) {
      const waits = [publishClient, subscribeClient].map(
        (client) =>
          new Promise<boolean>((resolve) => {
            if (client.status === "ready") return resolve(true);
            const timer = setTimeout(() => done(false), timeoutMs);
            const onReady = () => done(true);
            const done = (ready: boolean) => {
              clearTimeout(timer);
              client.off("ready", onReady);
              resolve(ready);
            };
            client.on("ready", onReady);
          }),
      );
      return (await Promise.all(waits)).every(Boolean);
    },
    async close() {
      await Promise.all(
        [publishClient, subscribeClient].map((client) => client.quit().catch(() => client.disconnect())),
      );
    },
  };
}
