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
  readHistories,
} from "../ledger/history.ts";
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
  const db = ledger.database.read;
  const tenant = (): string => {
    if (tenantId === null) throw unauthenticated(language);
    return tenantId;
  };

  // Expirations due by now are recorded before an account's balance, grants or history are read, so none
  // is ever stale. Once per account and per customer and request is enough: a request reads as of its start,
  // and the checks would otherwise repeat for every loader that touches the same accounts.
  const settledAccounts = new Set<string>();
  const settledCustomers = new Set<string>();
  async function settle(scope: { accountIds?: readonly string[]; customerIds?: readonly string[] }): Promise<void> {
    const tenantId = tenant();
    const customerIds = (scope.customerIds ?? []).filter((id) => !settledCustomers.has(id));
    const accountIds = (scope.accountIds ?? []).filter((id) => !settledAccounts.has(id));
    if (customerIds.length > 0) await ledger.settleDue({ tenantId, customerIds });
    if (accountIds.length > 0) await ledger.settleDue({ tenantId, accountIds });
    for (const id of customerIds) settledCustomers.add(id);
    for (const id of accountIds) settledAccounts.add(id);
  }

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
      for (const row of rows) groups.set(keyOf(row), [...(groups.get(keyOf(row)) ?? []), row]);
      return keys.map((key) => groups.get(key) ?? []);
    });
  }

  /**
   * History pages batch per distinct (filter, order, page) signature: 50 customers each asking for their 20
   * latest actions are one statement, whatever the number of customers.
   */
  function historyLoader<R>(
    read: (parents: HistoryParent[], key: HistoryKey) => Promise<Map<string, R>>,
    empty: R,
  ) {
    return new DataLoader<HistoryKey, R, string>(
      async (keys) => {
        const groups = new Map<string, HistoryKey[]>();
        for (const key of keys) {
          const signature = stableKey({ filter: key.filter, order: key.order, page: key.page, kind: key.parent.kind });
          groups.set(signature, [...(groups.get(signature) ?? []), key]);
        }
        // Expirations due by now are recorded before any history is read, so they show in it.
        await settle({
          accountIds: keys.filter((key) => key.parent.kind === "account").map((key) => key.parent.id),
          customerIds: keys.filter((key) => key.parent.kind === "customer").map((key) => key.parent.id),
        });
        const results = new Map<HistoryKey, R>();
        for (const group of groups.values()) {
          const first = group[0] as HistoryKey;
          const answers = await read(group.map((key) => key.parent), first);
          for (const key of group) results.set(key, answers.get(key.parent.id) ?? empty);
        }
        return keys.map((key) => results.get(key) ?? empty);
      },
      { cacheKeyFn: stableKey },
    );
  }

  return {
    customer: byId<Customer>((ids, tenantId) => db.customer.findMany({ where: { tenantId, id: { in: ids } } })),
    customerByExternalId: new DataLoader<string, Customer | null>(async (externalIds) => {
      // Text no customer can have (see isStorableText) matches none, without asking the database.
      const storable = externalIds.filter(isStorableText);
      const tenantId = tenant();
      const rows = storable.length > 0 ? await db.customer.findMany({ where: { tenantId, externalId: { in: storable } } }) : [];
      const byKey = new Map(rows.map((row) => [row.externalId, row]));
      return externalIds.map((externalId) => byKey.get(externalId) ?? null);
    }),
    /** Accounts with their current balances: expirations due by now are settled first. */
    account: byId<CreditAccount>(async (ids, tenantId) => {
      await settle({ accountIds: ids });
      return db.creditAccount.findMany({ where: { tenantId, id: { in: ids } } });
    }),
    accountsOfCustomer: groupedBy<CreditAccount>(
      async (customerIds, tenantId) => {
        await settle({ customerIds });
        const accounts = await db.creditAccount.findMany({
          where: { tenantId, customerId: { in: customerIds } },
          orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        });
        // Settling a customer settled each of its accounts.
        for (const account of accounts) settledAccounts.add(account.id);
        return accounts;
      },
      (account) => account.customerId,
    ),
    action: byId<CreditAction>((ids, tenantId) => db.creditAction.findMany({ where: { tenantId, id: { in: ids } } })),
    reversalOf: new DataLoader<string, CreditAction | null>(async (actionIds) => {
      const rows = await db.creditAction.findMany({ where: { tenantId: tenant(), reversesActionId: { in: [...actionIds] } } });
      const byKey = new Map(rows.map((row) => [row.reversesActionId, row]));
      return actionIds.map((id) => byKey.get(id) ?? null);
    }),
    entriesOfAction: groupedBy<CreditEntry>(
      (actionIds, tenantId) => db.creditEntry.findMany({ where: { tenantId, actionId: { in: actionIds } } }),
      (entry) => entry.actionId,
    ),
    allocationsOfAction: groupedBy<CreditAllocation>(
      (actionIds, tenantId) =>
        db.creditAllocation.findMany({ where: { actionId: { in: actionIds }, action: { tenantId } }, orderBy: { grantId: "asc" } }),
      (allocation) => allocation.actionId,
    ),
    /** All grants of each account, oldest first; expirations due by now are settled first. */
    grantsOfAccount: groupedBy<CreditGrant>(
      async (accountIds, tenantId) => {
        await settle({ accountIds });
        return db.creditGrant.findMany({ where: { tenantId, accountId: { in: accountIds } }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
      },
      (grant) => grant.accountId,
    ),
    grant: byId<CreditGrant>((ids, tenantId) => db.creditGrant.findMany({ where: { tenantId, id: { in: ids } } })),
    store: byId<Store>((ids, tenantId) => db.store.findMany({ where: { tenantId, id: { in: ids } } })),
    partner: byId<Partner>((ids, tenantId) => db.partner.findMany({ where: { tenantId, id: { in: ids } } })),
    history: historyLoader<HistoryPage>(
      (parents, key) => readHistories(ledger.database, tenant(), parents, key.filter, key.order, key.page),
      { entries: [], cursors: [], hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    ),
    historyCount: historyLoader<number>(
      (parents, key) => countHistories(ledger.database, tenant(), parents, key.filter),
      0,
    ),
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
