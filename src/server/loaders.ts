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
  CreditHold,
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
  database: Ledger["database"];
  /** The caller's tenant; throws UNAUTHENTICATED for a request without a valid key. */
  tenant(): string;
  /** Records the expirations due on these accounts, so that what is read next is not stale. */
  settle: Settle;
}

/**
 * The request's loaders, one per relation, as a table. Accounts are read with every expiry due by the moment
 * of the read recorded first, so no balance, grant or history shown is stale (see src/ledger/reads.ts); rows
 * that one loader reads for another (a history page's actions and stores, a customer's accounts) are primed
 * into that one, so the request does not read them twice.
 */
export function createLoaders(ledger: Ledger, tenantId: string | null, language: Language) {
  const scope = scopeOf(ledger, tenantId, language);
  const { database } = scope;
  const account = byId<CreditAccount>(scope, (ids, tenant) =>
    reads.accounts(database, tenant, ids, ledger.clock(), scope.settle),
  );
  const action = byId<CreditAction>(scope, (ids, tenant) => reads.actionsById(database, tenant, ids));
  const store = byId<Store>(scope, (ids, tenant) => reads.storesById(database, tenant, ids));
  const partner = byId<Partner>(scope, (ids, tenant) => reads.partnersById(database, tenant, ids));
  return {
    customer: byId<Customer>(scope, (ids, tenant) => reads.customersById(database, tenant, ids)),
    customerByExternalId: customerByExternalIdLoader(scope),
    account,
    accountsOfCustomer: accountsOfCustomerLoader(scope, account),
    action,
    reversalOf: byKey<CreditAction>(
      scope,
      (actionIds, tenant) => reads.reversalsOf(database, tenant, actionIds),
      (row) => row.reversesActionId,
    ),
    entriesOfAction: groupedBy<CreditEntry>(
      scope,
      (actionIds, tenant) => reads.entriesOfActions(database, tenant, actionIds),
      (entry) => entry.actionId,
    ),
    allocationsOfAction: groupedBy<CreditAllocation>(
      scope,
      (actionIds, tenant) => reads.allocationsOfActions(database, tenant, actionIds),
      (allocation) => allocation.actionId,
    ),
    grantsOfAccount: grantsOfAccountLoader(scope, account),
    grant: byId<CreditGrant>(scope, (ids, tenant) => reads.grantsById(database, tenant, ids)),
    /** Holds by id, with a due expiry recorded first. */
    hold: byId<CreditHold>(scope, (ids, tenant) => reads.holds(database, tenant, ids, ledger.clock(), scope.settle)),
    /** All holds of each account, newest first, after the accounts' due expiries are recorded. */
    holdsOfAccount: groupedBy<CreditHold>(
      scope,
      async (accountIds, tenant) => {
        await account.loadMany(accountIds);
        return reads.holdsOfAccounts(database, tenant, accountIds);
      },
      (hold) => hold.accountId,
    ),
    /** The actions of each hold (its transitions), oldest first. */
    actionsOfHold: groupedBy<CreditAction>(
      scope,
      async (holdIds, tenant) => primed(action, await reads.actionsOfHolds(database, tenant, holdIds)),
      (row) => row.holdId ?? "",
    ),
    store,
    partner,
    history: historyPageLoader(scope, { action, store, partner }),
    historyCount: historyLoader<number>(scope, 0, (parents, key, tenant) =>
      countHistories(database, tenant, parents, key.filter, settling(scope)),
    ),
  };
}

function scopeOf(ledger: Ledger, tenantId: string | null, language: Language): Scope {
  const tenant = () => {
    if (tenantId === null) throw unauthenticated(language);
    return tenantId;
  };
  return {
    ledger,
    database: ledger.database,
    tenant,
    settle: (accountIds) => ledger.settleDue({ tenantId: tenant(), accountIds }).then(() => undefined),
  };
}

/** Customers by the tenant's own external id. */
function customerByExternalIdLoader(scope: Scope) {
  return byKey<Customer>(
    scope,
    // Text no customer can have (see isStorableText) matches none, without asking the database.
    (externalIds, tenant) => reads.customersByExternalId(scope.database, tenant, externalIds.filter(isStorableText)),
    (customer) => customer.externalId,
  );
}

/** Each customer's accounts, oldest first; they also answer the `account` loader. */
function accountsOfCustomerLoader(scope: Scope, account: DataLoader<string, CreditAccount | null>) {
  return groupedBy<CreditAccount>(
    scope,
    async (customerIds, tenant) =>
      primed(
        account,
        await reads.accountsOfCustomers(scope.database, tenant, customerIds, scope.ledger.clock(), scope.settle),
      ),
    (row) => row.customerId,
  );
}

/** All grants of each account, oldest first, after the accounts' due expiries are recorded. */
function grantsOfAccountLoader(scope: Scope, account: DataLoader<string, CreditAccount | null>) {
  return groupedBy<CreditGrant>(
    scope,
    async (accountIds, tenant) => {
      await account.loadMany(accountIds);
      return reads.grantsOfAccounts(scope.database, tenant, accountIds);
    },
    (grant) => grant.accountId,
  );
}

/** History pages; each page came with its actions, stores and partners, which answer those loaders. */
function historyPageLoader(
  scope: Scope,
  rows: {
    action: DataLoader<string, CreditAction | null>;
    store: DataLoader<string, Store | null>;
    partner: DataLoader<string, Partner | null>;
  },
) {
  return historyLoader<HistoryPage>(scope, emptyPage, async (parents, key, tenant) => {
    const pages = await readHistories(
      scope.database,
      tenant,
      parents,
      key.filter,
      key.order,
      key.page,
      settling(scope),
    );
    for (const page of pages.values()) {
      primed(rows.action, page.actions);
      primed(rows.store, page.stores);
      primed(rows.partner, page.partners);
    }
    return pages;
  });
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
