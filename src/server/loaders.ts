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
import { databaseIdPattern } from "../ledger/ids.ts";
import { unauthenticated } from "../auth/unauthenticated.ts";

export interface HistoryKey {
  parent: HistoryParent;
  filter: HistoryFilter;
  order: HistoryOrder;
  page: HistoryPageRequest;
}

export type Loaders = ReturnType<typeof createLoaders>;

/** What every loader of one request shares: the ledger, and the tenant it reads for. */
interface Scope {
  ledger: Ledger;
  /** The caller's tenant; throws UNAUTHENTICATED for a request without a valid key. */
  tenant(): string;
}

/**
 * The request's loaders, one per relation. Accounts are read with every expiry due by the moment of the
 * read recorded first, so no balance, grant or history shown is stale (see src/ledger/reads.ts); rows that
 * one loader reads for another (a history page's actions and stores, a customer's accounts) are primed
 * into that one, so the request does not read them twice.
 */
export function createLoaders(ledger: Ledger, tenantId: string | null, language: Language) {
  const scope: Scope = {
    ledger,
    tenant: () => {
      if (tenantId === null) throw unauthenticated(language);
      return tenantId;
    },
  };
  const { database } = ledger;
  const settle: Settle = (accountIds) =>
    ledger.settleDue({ tenantId: scope.tenant(), accountIds }).then(() => undefined);

  const account = byId<CreditAccount>(scope, (ids, tenantId) =>
    reads.accounts(database, tenantId, ids, ledger.clock(), settle),
  );
  const action = byId<CreditAction>(scope, (ids, tenantId) => reads.actionsById(database, tenantId, ids));
  const store = byId<Store>(scope, (ids, tenantId) => reads.storesById(database, tenantId, ids));
  const partner = byId<Partner>(scope, (ids, tenantId) => reads.partnersById(database, tenantId, ids));

  return {
    customer: byId<Customer>(scope, (ids, tenantId) => reads.customersById(database, tenantId, ids)),
    customerByExternalId: byKey<Customer>(
      scope,
      // Text no customer can have (see isStorableText) matches none, without asking the database.
      (externalIds, tenantId) => reads.customersByExternalId(database, tenantId, externalIds.filter(isStorableText)),
      (customer) => customer.externalId,
    ),
    account,
    accountsOfCustomer: groupedBy<CreditAccount>(
      scope,
      async (customerIds, tenantId) =>
        primed(account, await reads.accountsOfCustomers(database, tenantId, customerIds, ledger.clock(), settle)),
      (row) => row.customerId,
    ),
    action,
    reversalOf: byKey<CreditAction>(
      scope,
      (actionIds, tenantId) => reads.reversalsOf(database, tenantId, actionIds),
      (row) => row.reversesActionId,
    ),
    entriesOfAction: groupedBy<CreditEntry>(
      scope,
      (actionIds, tenantId) => reads.entriesOfActions(database, tenantId, actionIds),
      (entry) => entry.actionId,
    ),
    allocationsOfAction: groupedBy<CreditAllocation>(
      scope,
      (actionIds, tenantId) => reads.allocationsOfActions(database, tenantId, actionIds),
      (allocation) => allocation.actionId,
    ),
    /** All grants of each account, oldest first, after the accounts' due expiries are recorded. */
    grantsOfAccount: groupedBy<CreditGrant>(
      scope,
      async (accountIds, tenantId) => {
        await account.loadMany(accountIds);
        return reads.grantsOfAccounts(database, tenantId, accountIds);
      },
      (grant) => grant.accountId,
    ),
    grant: byId<CreditGrant>(scope, (ids, tenantId) => reads.grantsById(database, tenantId, ids)),
    store,
    partner,
    history: historyLoader<HistoryPage>(scope, emptyPage, async (parents, key, tenantId) => {
      const pages = await readHistories(database, tenantId, parents, key.filter, key.order, key.page, settling(scope));
      // Each page came with its actions, stores and partners: they answer those loaders for the request.
      for (const page of pages.values()) {
        primed(action, page.actions);
        primed(store, page.stores);
        primed(partner, page.partners);
      }
      return pages;
    }),
    historyCount: historyLoader<number>(scope, 0, (parents, key, tenantId) =>
      countHistories(database, tenantId, parents, key.filter, settling(scope)),
    ),
  };
}

const emptyPage: HistoryPage = {
  entries: [],
  actions: [],
  stores: [],
  partners: [],
  cursors: [],
  hasNextPage: false,
  hasPreviousPage: false,
  startCursor: null,
  endCursor: null,
};

/** A history read as of now, recording the expirations due on its parents' accounts first. */
function settling(scope: Scope): HistoryReadOptions {
  return {
    asOf: scope.ledger.clock(),
    settle: async (parents) => {
      const tenantId = scope.tenant();
      const accountIds = parents.filter((parent) => parent.kind === "account").map((parent) => parent.id);
      const customerIds = parents.filter((parent) => parent.kind === "customer").map((parent) => parent.id);
      if (accountIds.length > 0) await scope.ledger.settleDue({ tenantId, accountIds });
      if (customerIds.length > 0) await scope.ledger.settleDue({ tenantId, customerIds });
    },
  };
}

/** Puts rows read for another loader into this one, and returns them. */
function primed<T extends { id: string }>(loader: DataLoader<string, T | null>, rows: T[]): T[] {
  for (const row of rows) loader.prime(row.id, row);
  return rows;
}

/** A loader of one row by id, scoped to the tenant. */
function byId<T extends { id: string }>(scope: Scope, find: (ids: string[], tenantId: string) => Promise<T[]>) {
  return new DataLoader<string, T | null>(async (ids) => {
    // `node(id:)` decodes any global ID it is given; only ids that can name a row go to the database.
    const valid = ids.filter((id) => databaseIdPattern.test(id));
    const rows = valid.length > 0 ? await find(valid, scope.tenant()) : [];
    const found = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => found.get(id) ?? null);
  });
}

/** A loader of at most one row per key, found by another unique column. */
function byKey<T>(
  scope: Scope,
  find: (keys: string[], tenantId: string) => Promise<T[]>,
  keyOf: (row: T) => string | null,
) {
  return new DataLoader<string, T | null>(async (keys) => {
    const rows = await find([...keys], scope.tenant());
    const found = new Map(rows.map((row) => [keyOf(row), row]));
    return keys.map((key) => found.get(key) ?? null);
  });
}

/** A loader of the rows that belong to each key (one query for all keys). */
function groupedBy<T>(
  scope: Scope,
  find: (keys: string[], tenantId: string) => Promise<T[]>,
  keyOf: (row: T) => string,
) {
  return new DataLoader<string, T[]>(async (keys) => {
    const rows = await find([...keys], scope.tenant());
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
function historyLoader<R>(
  scope: Scope,
  empty: R,
  read: (parents: HistoryParent[], key: HistoryKey, tenantId: string) => Promise<Map<string, R>>,
) {
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
          scope.tenant(),
        );
        for (const key of group) results.set(key, answers.get(key.parent.id) ?? empty);
      }
      return keys.map((key) => results.get(key) ?? empty);
    },
    { cacheKeyFn: stableKey },
  );
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
