// The credit ledger: exact, concurrency-safe operations on customers' credit accounts, independent of
// GraphQL. Each write is one database transaction returning a LedgerResult (see result.ts); nothing is
// written when it fails. `createLedger` binds the operations to a database and a clock.
import type { Database } from "../db/client.ts";
import { accountBalances, balanceAt, customerBalances, settleDue } from "./balances.ts";
import {
  closeAccount,
  createCustomer,
  createPartner,
  createStore,
  createTenant,
  openAccount,
  updateAccount,
  updateCustomer,
} from "./directory.ts";
import { applyBatch } from "./operations/batch.ts";
import { changeGrantExpiry } from "./operations/change-expiry.ts";
import { deposit } from "./operations/deposit.ts";
import { authorize, capture, release } from "./operations/holds.ts";
import type { LedgerDependencies } from "./operations/money-write.ts";
import { reduce } from "./operations/reduce.ts";
import { reverse } from "./operations/reverse.ts";
import { transfer } from "./operations/transfer.ts";
import { voidGrant } from "./operations/void-grant.ts";
import { defaultTransactionSettings, type TransactionSettings } from "./transaction.ts";
import { verifyLedger } from "./verify.ts";

export interface LedgerOptions {
  clock?: () => Date;
  transactions?: Partial<TransactionSettings>;
}

type Bound<F> = F extends (deps: LedgerDependencies, ...rest: infer A) => infer R ? (...rest: A) => R : never;

function bind<F extends (deps: LedgerDependencies, ...rest: never[]) => unknown>(
  deps: LedgerDependencies,
  operation: F,
): Bound<F> {
  return ((...rest: never[]) => operation(deps, ...rest)) as Bound<F>;
}

export function createLedger(database: Database, options: LedgerOptions = {}) {
  const deps: LedgerDependencies = {
    database,
    clock: options.clock ?? (() => new Date()),
    transactions: { ...defaultTransactionSettings, ...options.transactions },
  };
  return {
    database,
    clock: deps.clock,
    deposit: bind(deps, deposit),
    reduce: bind(deps, reduce),
    transfer: bind(deps, transfer),
    reverse: bind(deps, reverse),
    voidGrant: bind(deps, voidGrant),
    authorize: bind(deps, authorize),
    capture: bind(deps, capture),
    release: bind(deps, release),
    changeGrantExpiry: bind(deps, changeGrantExpiry),
    applyBatch: bind(deps, applyBatch),
    createTenant: bind(deps, createTenant),
    createCustomer: bind(deps, createCustomer),
    updateCustomer: bind(deps, updateCustomer),
    openAccount: bind(deps, openAccount),
    updateAccount: bind(deps, updateAccount),
    closeAccount: bind(deps, closeAccount),
    createStore: bind(deps, createStore),
    createPartner: bind(deps, createPartner),
    settleDue: bind(deps, settleDue),
    accountBalances: bind(deps, accountBalances),
    balanceAt: bind(deps, balanceAt),
    customerBalances: bind(deps, customerBalances),
    verify: (scope: { tenantId: string; accountId?: string }) => verifyLedger(database, scope),
  };
}

export type Ledger = ReturnType<typeof createLedger>;

export type { ActionOutcome } from "./outcome.ts";
export type { HoldOutcome } from "./operations/holds.ts";
export type {
  BatchInput,
  BatchItem,
  BatchItemError,
  BatchItemKind,
  BatchOutcome,
  BatchResult,
} from "./operations/batch.ts";
export { maxBatchItems } from "./operations/batch.ts";
export type { LedgerError, LedgerErrorCode, LedgerFailure, LedgerResult } from "./result.ts";
export { ledgerErrorCodes } from "./result.ts";
export type { Discrepancy } from "./verify.ts";
export type { WriteOptions, Initiator } from "./validation.ts";
