// What live subscriptions deliver: one event per ledger entry, i.e. per account an action touched, after the
// action's transaction has committed. An event carries only ids and the two numbers a client needs to keep a
// balance current without asking again: the account's new balance and the entry's sequence number (the
// account's entries are numbered 1, 2, 3... without gaps, see `CreditEntry.sequence`). A client that sees a
// sequence jump knows it missed something and refetches the history from the last sequence it saw.
//
// Events travel between gateway instances as JSON (Redis pub/sub or PostgreSQL NOTIFY), so amounts are
// decimal strings here, never numbers.
import { createPubSub, type PubSub, type PubSubEventTarget } from "graphql-yoga";

export interface LedgerEvent {
  tenantId: string;
  customerId: string;
  accountId: string;
  actionId: string;
  /** The entry's position in the account's ledger (1, 2, 3...). */
  sequence: number;
  /** The account's balance right after the entry, in minor units, as a decimal string. */
  balance: string;
}

/**
 * The topics: every event goes to its account's topic and to its customer's. The tenant is part of every
 * topic id, so a subscriber can only ever be handed events of its own tenant, whatever ids it guesses.
 */
export type LiveTopics = {
  accountEntries: [topicId: string, event: LedgerEvent];
  customerEntries: [topicId: string, event: LedgerEvent];
};

export type LivePubSub = PubSub<LiveTopics>;

/** Where published events go and subscribers listen: one process's memory, Redis or PostgreSQL. */
export type LiveEventTarget = PubSubEventTarget<LiveTopics>;

export function accountTopic(tenantId: string, accountId: string): string {
  return `${tenantId}:${accountId}`;
}

export function customerTopic(tenantId: string, customerId: string): string {
  return `${tenantId}:${customerId}`;
}

export function createLivePubSub(eventTarget?: LiveEventTarget): LivePubSub {
  return createPubSub<LiveTopics>(eventTarget ? { eventTarget } : {});
}

/** Sends an event to the subscribers of its account and of its customer, on every instance. */
export function publishLedgerEvent(pubSub: LivePubSub, event: LedgerEvent): void {
  pubSub.publish("accountEntries", accountTopic(event.tenantId, event.accountId), event);
  pubSub.publish("customerEntries", customerTopic(event.tenantId, event.customerId), event);
}
