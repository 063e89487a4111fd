// The single place where per-request DataLoaders are built.
//
// A DataLoader caches what it loads for as long as it lives, so loaders must never outlive one request: a
// module-level loader would serve one tenant's rows to another and keep stale balances forever.
// `createContext()` calls `createLoaders()` once per request, for the caller's tenant, and every loader
// filters by that tenant: an id of another tenant loads as null, exactly like an id that does not exist.
// Each batch function returns results in key order with null for misses (DataLoader's contract).
import DataLoader from "dataloader";
import type {
  CreditAccount,
  CreditAction,
  CreditAllocation,
  CreditEntry,
  CreditGrant,
  Customer,
  Partner,
  Store,
} from "../generated/postgres/client.ts";
import {
  countHistories,
  type HistoryFilter,
  type HistoryOrder,
  type HistoryPage,
  type HistoryPageRequest,
  type HistoryParent,
  type HistoryReadOptions,
  readHistories,
} from "../ledger/history.ts";
import * as reads from "../ledger/reads.ts";
import type { Settle } from "../ledger/reads.ts";
import type { Language } from "../i18n/languages.ts";
import type { Ledger } from "../ledger/index.ts";
import { isStorableText } from "../ledger/validation.ts";
import { databaseIdPattern } from "../schema/ids.ts";
import { unauthenticated } from "./context.ts";

export interface HistoryKey {
  parent: HistoryParent;
  filter: HistoryFilter;
  order: HistoryOrder;
  page: HistoryPageRequest;
}

export type Loaders = ReturnType<typeof createLoaders>;

export function createLoaders(ledger: Ledger, tenantId: string | null, language: Language) {
  const database = ledger.database;
  const tenant = (): string => {
    if (tenantId === null) throw unauthenticated(language);
    return tenantId;
  };
  // Expirations due by the moment of a read are recorded before an account's balance, grants or history are
  // shown, so none is ever stale. The account rows say whether one is due (next_lapse_at), so a read that
  // finds nothing due costs no statement for it.
  const settle: Settle = async (accountIds) => {
    await ledger.settleDue({ tenantId: tenant(), accountIds });
  };
  const historyOptions = (): HistoryReadOptions => ({
    asOf: ledger.clock(),
    settle: async (parents) => {
      const accountIds = parents.filter((parent) => parent.kind === "account").map((parent) => parent.id);
      const customerIds = parents.filter((parent) => parent.kind === "customer").map((parent) => parent.id);
      if (accountIds.length > 0) await ledger.settleDue({ tenantId: tenant(), accountIds });
      if (customerIds.length > 0) await ledger.settleDue({ tenantId: tenant(), customerIds });
    },
  });

  /** A loader of one model by id, scoped to the tenant. */
  function byId<T extends { id: string }>(find: (ids: string[], tenantId: string) => Promise<T[]>) {
    return new DataLoader<string, T | null>(async (ids) => {
      // `node(id:)` decodes any global ID it is given; only ids that can name a row go to the database.
      const valid = ids.filter((id) => databaseIdPattern.test(id));
      const rows = valid.length > 0 ? await find(valid, tenant()) : [];
      const byKey = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byKey.get(id) ?? null);
    });
  }

  /** A loader of the rows that belong to each key (one query for all keys). */
  function groupedBy<T>(find: (keys: string[], tenantId: string) => Promise<T[]>, keyOf: (row: T) => string) {
    return new DataLoader<string, T[]>(async (keys) => {
      const rows = await find([...keys], tenant());
      const groups = new Map<string, T[]>();
      for (const row of rows) {
        const group = groups.get(keyOf(row));
        if (group) group.push(row);
        else groups.set(keyOf(row), [row]);
      }
      return keys.map((key) => groups.get(key) ?? []);
    });
  }

  /**
   * History pages batch per distinct (filter, order, page) signature: 50 customers each asking for their 20
   * latest actions are one statement, whatever the number of customers.
   */
  function historyLoader<R>(read: (parents: HistoryParent[], key: HistoryKey) => Promise<Map<string, R>>, empty: R) {
    return new DataLoader<HistoryKey, R, string>(
      async (keys) => {
        const groups = new Map<string, HistoryKey[]>();
        for (const key of keys) {
          const signature = stableKey({ filter: key.filter, order: key.order, page: key.page, kind: key.parent.kind });
          const group = groups.get(signature);
          if (group) group.push(key);
          else groups.set(signature, [key]);
        }
        const results = new Map<HistoryKey, R>();
        for (const group of groups.values()) {
          const first = group[0] as HistoryKey;
          const answers = await read(
            group.map((key) => key.parent),
            first,
          );
          for (const key of group) results.set(key, answers.get(key.parent.id) ?? empty);
        }
        return keys.map((key) => results.get(key) ?? empty);
      },
      { cacheKeyFn: stableKey },
    );
  }

  const account = byId<CreditAccount>((ids, tenantId) => reads.accounts(database, tenantId, ids, ledger.clock(), settle));
  const action = byId<CreditAction>((ids, tenantId) => reads.actionsById(database, tenantId, ids));
  const store = byId<Store>((ids, tenantId) => reads.storesById(database, tenantId, ids));
  const partner = byId<Partner>((ids, tenantId) => reads.partnersById(database, tenantId, ids));

  return {
    customer: byId<Customer>((ids, tenantId) => reads.customersById(database, tenantId, ids)),
    customerByExternalId: new DataLoader<string, Customer | null>(async (externalIds) => {
      // Text no customer can have (see isStorableText) matches none, without asking the database.
      const rows = await reads.customersByExternalId(database, tenant(), externalIds.filter(isStorableText));
      const byKey = new Map(rows.map((row) => [row.externalId, row]));
      return externalIds.map((externalId) => byKey.get(externalId) ?? null);
    }),
    /** Accounts with their current balances: expirations due by now are settled first. */
    account,
    accountsOfCustomer: groupedBy<CreditAccount>(
      async (customerIds, tenantId) => {
        const rows = await reads.accountsOfCustomers(database, tenantId, customerIds, ledger.clock(), settle);
        // The same rows answer `account` for the rest of the request.
        for (const row of rows) account.prime(row.id, row);
        return rows;
      },
      (row) => row.customerId,
    ),
    action,
    reversalOf: new DataLoader<string, CreditAction | null>(async (actionIds) => {
      const rows = await reads.reversalsOf(database, tenant(), actionIds);
      const byKey = new Map(rows.map((row) => [row.reversesActionId, row]));
      return actionIds.map((id) => byKey.get(id) ?? null);
    }),
    entriesOfAction: groupedBy<CreditEntry>((actionIds, tenantId) => reads.entriesOfActions(database, tenantId, actionIds), (entry) => entry.actionId),
    allocationsOfAction: groupedBy<CreditAllocation>(
      (actionIds, tenantId) => reads.allocationsOfActions(database, tenantId, actionIds),
      (allocation) => allocation.actionId,
    ),
    /** All grants of each account, oldest first; expirations due by now are settled first. */
    grantsOfAccount: groupedBy<CreditGrant>(
      async (accountIds, tenantId) => {
        await account.loadMany(accountIds);
        return reads.grantsOfAccounts(database, tenantId, accountIds);
      },
      (grant) => grant.accountId,
    ),
    grant: byId<CreditGrant>((ids, tenantId) => reads.grantsById(database, tenantId, ids)),
    store,
    partner,
    history: historyLoader<HistoryPage>(
      async (parents, key) => {
        const pages = await readHistories(database, tenant(), parents, key.filter, key.order, key.page, historyOptions());
        // Each page came with its actions, stores and partners: they answer those loaders for the request.
        for (const page of pages.values()) {
          for (const row of page.actions) action.prime(row.id, row);
          for (const row of page.stores) store.prime(row.id, row);
          for (const row of page.partners) partner.prime(row.id, row);
        }
        return pages;
      },
      { entries: [], actions: [], stores: [], partners: [], cursors: [], hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    ),
    historyCount: historyLoader<number>((parents, key) => countHistories(database, tenant(), parents, key.filter, historyOptions()), 0),
  };
}

/** JSON with sorted keys and bigints and dates spelled out, so equal requests batch and cache together. */
export function stableKey(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === "bigint") return `${item}n`;
    if (item instanceof Date) return item.toISOString();
    if (item && typeof item === "object" && !Array.isArray(item)) {
      return Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    return item;
  });
}
