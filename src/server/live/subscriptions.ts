// What every live subscription goes through, whatever it listens to: the limits on open subscriptions, and
// the API key's recheck while the stream is open.
//
// Limits: a subscription holds a connection and a place in the event fan-out for as long as it is open, so
// each instance serves at most MAX_SUBSCRIPTIONS at once, and one API key at most
// MAX_SUBSCRIPTIONS_PER_KEY of them; beyond either the subscription is refused with TOO_MANY_SUBSCRIPTIONS
// (HTTP 429) before it opens. A place is given back when its stream ends, however it ends.
//
// Keys: the key is checked when the subscription opens like any request's, and again before each event is
// sent and every `keyCheckMs` while the stream is idle, through the same cached lookup as requests
// (apiKeyCacheMs). A revoked, expired or downgraded key therefore receives no event later than apiKeyCacheMs
// after its revocation, and its stream ends, with a last UNAUTHENTICATED error, within keyCheckMs +
// apiKeyCacheMs (10 s by default).
import { Repeater } from "graphql-yoga";
import { authenticate, type Caller, presentedKey } from "../../auth/api-keys.ts";
import type { Database } from "../../db/client.ts";
import { guardErrorCodes, refusalError } from "../guards/refusal.ts";
import type { LivePubSub } from "./events.ts";

export interface SubscriptionLimits {
  /** Subscriptions open at once on this instance; 0 means no bound. */
  maxSubscriptions: number;
  /** Subscriptions one API key may hold open at once on this instance; 0 means no bound. */
  maxSubscriptionsPerKey: number;
  /** How often an idle stream rechecks its key. */
  keyCheckMs: number;
}

/** Handed to a subscription's resolver in place of an event when the stream ends for its key's sake. */
export const keyRevoked = Symbol("keyRevoked");

export interface Live {
  pubSub: LivePubSub;
  /** Subscriptions open on this instance right now. */
  readonly open: number;
  /**
   * Subscriptions whose stream has started listening to its topic (a stream starts when its client starts
   * reading it). Tests wait for it before writing.
   */
  readonly listening: number;
  /**
   * Admits a subscription of the caller to `source`, or throws TOO_MANY_SUBSCRIPTIONS. The stream it returns
   * ends, after yielding `keyRevoked`, once the request's key no longer authenticates.
   */
  stream<T>(caller: Caller, request: Request, source: AsyncIterable<T>): AsyncIterable<T | typeof keyRevoked>;
  /** Ends every open stream (at shutdown, so that clients reconnect to another instance at once). */
  endAll(): void;
}

/** How often an idle stream rechecks its key unless the gateway is told otherwise. */
export const defaultKeyCheckMs = 5_000;

export function createLive(options: {
  pubSub: LivePubSub;
  database: Database;
  clock: () => Date;
  limits: SubscriptionLimits;
}): Live {
  const { limits } = options;
  let open = 0;
  let listening = 0;
  const openPerKey = new Map<string, number>();
  const stoppers = new Set<() => void>();

  const admit = (caller: Caller): (() => void) => {
    const keyId = caller.apiKey.id;
    const ofKey = openPerKey.get(keyId) ?? 0;
    if (limits.maxSubscriptions > 0 && open >= limits.maxSubscriptions)
      throw tooMany(`This instance serves at most ${limits.maxSubscriptions} subscriptions at once; retry shortly.`, {
        limit: limits.maxSubscriptions,
        scope: "instance",
      });
    if (limits.maxSubscriptionsPerKey > 0 && ofKey >= limits.maxSubscriptionsPerKey)
      throw tooMany(`This API key holds ${ofKey} subscriptions open already, the most it may; close one first.`, {
        limit: limits.maxSubscriptionsPerKey,
        scope: "key",
      });
    open++;
    openPerKey.set(keyId, ofKey + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      open--;
      const left = (openPerKey.get(keyId) ?? 1) - 1;
      if (left === 0) openPerKey.delete(keyId);
      else openPerKey.set(keyId, left);
    };
  };

  return {
    pubSub: options.pubSub,
    get open() {
      return open;
    },
    get listening() {
      return listening;
    },
    stream<T>(caller: Caller, request: Request, source: AsyncIterable<T>) {
      const release = admit(caller);
      const secret = presentedKey(request.headers);
      // A database fault while rechecking must not end every stream; the next check decides.
      const keyStillValid = async () => {
        if (!secret) return false;
        try {
          const current = await authenticate(options.database, secret, options.clock());
          return current !== null && current.tenant.id === caller.tenant.id && current.scopes.has("read");
        } catch {
          return true;
        }
      };
      return new Repeater<T | typeof keyRevoked>(async (push, stop) => {
        stoppers.add(stop);
        const iterator = source[Symbol.asyncIterator]();
        let ending = false;
        const endForKey = async () => {
          if (ending) return;
          ending = true;
          await push(keyRevoked);
          stop();
        };
        const timer = setInterval(() => {
          void keyStillValid().then((valid) => (valid ? undefined : endForKey()));
        }, limits.keyCheckMs);
        timer.unref();
        // The pump's first `next()` starts the topic's own stream, which adds its listener at once.
        const pump = (async () => {
          for (;;) {
            const next = await iterator.next();
            if (next.done || ending) break;
            if (!(await keyStillValid())) {
              await endForKey();
              break;
            }
            await push(next.value);
          }
          stop();
        })();
        listening++;
        try {
          await stop;
        } finally {
          clearInterval(timer);
          stoppers.delete(stop);
          // Unsubscribes from the topic, which also ends the pump's pending wait for the next event.
          await iterator.return?.();
          await pump.catch(() => {});
          listening--;
          release();
        }
      });
    },
    endAll() {
      for (const stop of stoppers) stop();
    },
  };
}

/** The refusal, in English here: the error presentation translates it by its code, scope and limit. */
function tooMany(message: string, details: { limit: number; scope: "instance" | "key" }) {
  const error = refusalError({ status: 429, code: guardErrorCodes.tooManySubscriptions, message });
  Object.assign(error.extensions, details);
  return error;
}
