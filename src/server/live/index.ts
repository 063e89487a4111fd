// Live balances for one gateway: the transport that carries events between instances, the ledger wrapped so
// that every committed write publishes its entries, and the subscription limits. The gateway (yoga.ts)
// builds it once and hands `live` to every request's context.
import type { Database } from "../../db/client.ts";
import type { Ledger } from "../../ledger/index.ts";
import { publishLedgerEvent } from "./events.ts";
import { publishingLedger } from "./publisher.ts";
import { createLive, defaultKeyCheckMs, type Live } from "./subscriptions.ts";
import { createLiveTransport, type LiveTransport } from "./transport.ts";

export interface LiveSetupOptions {
  database: Database;
  ledger: Ledger;
  config: {
    redisUrl?: string | null;
    databaseUrl?: string;
    maxSubscriptions: number;
    maxSubscriptionsPerKey: number;
  };
  /** A transport built by the caller (tests share one between gateways); by default one from the config. */
  transport?: LiveTransport;
  /** How often an idle stream rechecks its API key; 5 s unless a test needs it sooner. */
  keyCheckMs?: number;
  warn: (message: string) => void;
}

export interface LiveSetup {
  /** The ledger to serve requests with: it publishes what it commits. */
  ledger: Ledger;
  live: Live;
  transport: LiveTransport;
  /** Ends every stream, then closes the transport unless the caller gave it. */
  close(): Promise<void>;
}

export function setUpLive(options: LiveSetupOptions): LiveSetup {
  const { database, config } = options;
  const postgresUrl =
    database.engine === "postgres" && config.databaseUrl && /^postgres(ql)?:\/\//.test(config.databaseUrl)
      ? config.databaseUrl
      : null;
  const transport =
    options.transport ?? createLiveTransport({ redisUrl: config.redisUrl ?? null, postgresUrl, warn: options.warn });
  const live = createLive({
    pubSub: transport.pubSub,
    database,
    clock: () => options.ledger.clock(),
    limits: {
      maxSubscriptions: config.maxSubscriptions,
      maxSubscriptionsPerKey: config.maxSubscriptionsPerKey,
      keyCheckMs: options.keyCheckMs ?? defaultKeyCheckMs,
    },
  });
  const ledger = publishingLedger(options.ledger, {
    publish: (event) => publishLedgerEvent(transport.pubSub, event),
    onError: (error) =>
      options.warn(`Live events: a committed write's events were not published (${(error as Error)?.message})`),
  });
  return {
    ledger,
    live,
    transport,
    async close() {
      live.endAll();
      if (!options.transport) await transport.close();
    },
  };
}

export type { LiveTransport } from "./transport.ts";
export { createLiveTransport } from "./transport.ts";
