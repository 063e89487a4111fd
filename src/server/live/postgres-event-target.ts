// Live events between gateway instances through PostgreSQL's LISTEN/NOTIFY, for deployments without Redis.
//
// One dedicated connection per process (not one of the pool's: a listening connection is held for the
// process's life, and a pooled one would be handed to requests) listens on one channel; every event is
// sent as a NOTIFY on that channel with its topic in the payload, and each process hands it to the local
// subscribers of that topic. Yoga's event target interface is the same one @graphql-yoga/redis-event-target
// implements, so the subscriptions cannot tell the transports apart. pg-listen would do the same but has not
// been released since 2021; this is the small part of it the gateway needs, on the `pg` driver it already has.
//
// Delivery is at most once, like Redis pub/sub: an event sent while the connection is down is lost, and
// subscribers notice the gap by the entries' sequence numbers. LISTEN needs a session of its own, so it does
// not work through PgBouncer in transaction mode; set REDIS_URL there.
import pg from "pg";
import type { LiveEventTarget } from "./events.ts";

/** The channel every instance listens on. NOTIFY payloads are limited to 8000 bytes; events are ~200. */
export const notifyChannel = "credit_ledger_events";

export interface PostgresEventTargetOptions {
  url: string;
  /** Reports a lost connection or an event that could not be sent; the target reconnects by itself. */
  onError: (message: string, error: unknown) => void;
  /** Wait before reconnecting after the connection was lost. */
  reconnectDelayMs?: number;
}

export interface PostgresEventTarget {
  eventTarget: LiveEventTarget;
  /** Resolves once the first LISTEN is in place (false when it was not within the time given). */
  ready(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

interface Notification {
  topic: string;
  detail: unknown;
}

export function createPostgresEventTarget(options: PostgresEventTargetOptions): PostgresEventTarget {
  const reconnectDelayMs = options.reconnectDelayMs ?? 1_000;
  const listeners = new Map<string, Set<(event: CustomEvent) => void>>();
  let client: pg.Client | null = null;
  let listening = false;
  let closed = false;
  let markReady: () => void = () => {};
  const firstListen = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const deliver = (message: pg.Notification) => {
    if (message.channel !== notifyChannel || !message.payload) return;
    let notification: Notification;
    try {
      notification = JSON.parse(message.payload) as Notification;
    } catch (error) {
      options.onError("A live event could not be read", error);
      return;
    }
    const callbacks = listeners.get(notification.topic);
    if (!callbacks) return;
    const event = new CustomEvent(notification.topic, { detail: notification.detail });
    for (const callback of callbacks) callback(event);
  };

  const connect = async (): Promise<void> => {
    if (closed) return;
    const next = new pg.Client({
      connectionString: options.url,
      keepAlive: true,
      application_name: "credit-ledger-gateway-live",
    });
    // Without a listener an 'error' event would crash the process; a lost connection is retried instead.
    next.on("error", (error) => lost(next, error));
    next.on("end", () => lost(next, new Error("connection ended")));
    next.on("notification", deliver);
    try {
      await next.connect();
      await next.query(`LISTEN ${notifyChannel}`);
    } catch (error) {
      lost(next, error);
      return;
    }
    if (closed) {
      await next.end().catch(() => {});
      return;
    }
    client = next;
    listening = true;
    markReady();
  };

  // Each connection is given up once, however many of 'error', 'end' and a failed query report it.
  const givenUp = new WeakSet<pg.Client>();
  const lost = (which: pg.Client, error: unknown) => {
    if (closed || givenUp.has(which)) return;
    givenUp.add(which);
    if (client === which) {
      client = null;
      listening = false;
    }
    which.end().catch(() => {});
    options.onError("The live events connection to PostgreSQL was lost; reconnecting", error);
    setTimeout(() => void connect(), reconnectDelayMs).unref();
  };

  void connect();

  // Events published in the same tick (a write's entries, each on its account's and its customer's topic;
  // concurrent writes finishing together) go out in one statement, in array order (PostgreSQL queues them in
  // the order pg_notify runs, which is the order unnest yields): one round trip and one
  // statement for all of them instead of one each. Sent on the listening connection itself, so no pooled
  // connection is taken from requests; the sender receives its own notifications like every other instance,
  // and delivers them locally from there.
  let outbox: string[] = [];
  const flush = () => {
    const payloads = outbox;
    outbox = [];
    if (payloads.length === 0) return;
    if (!client || !listening) {
      options.onError(`${payloads.length} live event(s) dropped: no connection to PostgreSQL`, null);
      return;
    }
    client
      .query("SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS sent(payload)", [notifyChannel, payloads])
      .catch((error: unknown) => {
        options.onError(`${payloads.length} live event(s) could not be sent`, error);
      });
  };

  const callbackOf = (listener: EventListenerOrEventListenerObject | null) =>
    listener === null ? null : "handleEvent" in listener ? listener.handleEvent.bind(listener) : listener;

  const eventTarget = {
    addEventListener(topic: string, listener: EventListenerOrEventListenerObject | null) {
      const callback = callbackOf(listener);
      if (!callback) return;
      let callbacks = listeners.get(topic);
      if (!callbacks) {
        callbacks = new Set();
        listeners.set(topic, callbacks);
      }
      callbacks.add(callback as (event: CustomEvent) => void);
    },
    removeEventListener(topic: string, listener: EventListenerOrEventListenerObject | null) {
      const callback = callbackOf(listener);
      const callbacks = listeners.get(topic);
      if (!callback || !callbacks) return;
      callbacks.delete(callback as (event: CustomEvent) => void);
      if (callbacks.size === 0) listeners.delete(topic);
    },
    dispatchEvent(event: CustomEvent) {
      if (!client || !listening) {
        options.onError("A live event was dropped: no connection to PostgreSQL", null);
        return true;
      }
      outbox.push(JSON.stringify({ topic: event.type, detail: event.detail } satisfies Notification));
      if (outbox.length === 1) queueMicrotask(flush);
      return true;
    },
  } as unknown as LiveEventTarget;

  return {
    eventTarget,
    async ready(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      const result = await Promise.race([firstListen.then(() => true), timedOut]);
      clearTimeout(timer);
      return result;
    },
    async close() {
      closed = true;
      const last = client;
      client = null;
      listening = false;
      if (last) {
        last.removeAllListeners("end");
        await last.end().catch(() => {});
      }
    },
  };
}
