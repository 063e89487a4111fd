// The ledger's non-money records: tenants, customers, credit accounts, stores and partners. Creating and
// updating them moves no credits; closing an account is refused while it holds any.
import { join, type Sql, sql, type SqlRunner } from "../db/sql.ts";
import type { CreditAccount, Customer, Partner, Store, Tenant } from "../generated/postgres/client.ts";
import { parseNonNegativeAmount } from "./amounts.ts";
import type { LedgerDependencies } from "./operations/money-write.ts";
import { failure, isFailure, type LedgerFailure, type LedgerResult } from "./result.ts";
import { rollback, runPrismaWrite, runWrite } from "./transaction.ts";
import { checkCurrency, checkEmail, checkExternalId, checkName, emptyToNull, foldForSearch } from "./validation.ts";
import { WriteSession } from "./write-session.ts";

export interface TenantInput {
  name: string;
  /** IANA time zone, e.g. "Europe/Prague"; default UTC. */
  timeZone?: string | null;
  /** ISO 639-1 language, e.g. "cs"; default "en". */
  defaultLocale?: string | null;
}

export async function createTenant(
  deps: LedgerDependencies,
  input: TenantInput,
): Promise<LedgerResult<{ tenant: Tenant }>> {
  const name = checkName(input.name);
  if (isFailure(name)) return name;
  const timeZone = input.timeZone ?? "UTC";
  if (!isTimeZone(timeZone)) {
    return failure(
      "INVALID_TIME_ZONE",
      "timeZone",
      `"${timeZone.slice(0, 60)}" is not an IANA time zone such as Europe/Prague.`,
    );
  }
  const defaultLocale = (input.defaultLocale ?? "en").toLowerCase();
  if (!/^[a-z]{2}$/.test(defaultLocale)) {
    return failure("INVALID_LOCALE", "defaultLocale", "The default locale must be an ISO 639-1 code such as en or cs.");
  }
  const tenant = await deps.database.write.tenant.create({ data: { name: name as string, timeZone, defaultLocale } });
  return { ok: true, tenant };
}

export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone });
    return timeZone.length <= 64;
  } catch {
    return false;
  }
}

export interface CustomerInput {
  externalId: string;
  name?: string | null;
  email?: string | null;
}

export async function createCustomer(
  deps: LedgerDependencies,
  tenantId: string,
  input: CustomerInput,
): Promise<LedgerResult<{ customer: Customer }>> {
  const fields = checkCustomerFields(input, true);
  if (isFailure(fields)) return fields;
  const result = await runPrismaWrite(deps.database, deps.transactions, async (tx) => {
    const taken = await tx.customer.findUnique({
      where: { tenantId_externalId: { tenantId, externalId: fields.externalId as string } },
      select: { id: true },
    });
    if (taken) rollback(externalIdTaken("customer"));
    const externalId = fields.externalId as string;
    return tx.customer.create({
      data: {
        tenantId,
        ...fields,
        externalId,
        searchText: customerSearchText({ externalId, name: fields.name ?? null, email: fields.email ?? null }),
      },
    });
  });
  return isFailure(result) ? result : { ok: true, customer: result };
}

export interface CustomerUpdate {
  customerId: string;
  /** Omitted fields stay as they are; null or "" clears name and email. */
  externalId?: string;
  name?: string | null;
  email?: string | null;
}

export async function updateCustomer(
  deps: LedgerDependencies,
  tenantId: string,
  input: CustomerUpdate,
): Promise<LedgerResult<{ customer: Customer }>> {
  const fields = checkCustomerFields(input, false);
  if (isFailure(fields)) return fields;
  const result = await runPrismaWrite(deps.database, deps.transactions, async (tx) => {
    const customer = await tx.customer.findFirst({ where: { id: input.customerId, tenantId } });
    if (!customer) rollback(customerNotFound("customerId", input.customerId));
    if (fields.externalId !== undefined && fields.externalId !== customer.externalId) {
      const taken = await tx.customer.findUnique({
        where: { tenantId_externalId: { tenantId, externalId: fields.externalId } },
        select: { id: true },
      });
      if (taken) rollback(externalIdTaken("customer"));
    }
    const searchText = customerSearchText({ ...customer, ...fields });
    return tx.customer.update({ where: { id: customer.id }, data: { ...fields, searchText } });
  });
  return isFailure(result) ? result : { ok: true, customer: result };
}

/** What customer search looks in: external id, name and email, folded like notes. */
export function customerSearchText(customer: {
  externalId: string;
  name: string | null;
  email: string | null;
}): string {
  return foldForSearch([customer.externalId, customer.name ?? "", customer.email ?? ""].join("\n"));
}

function checkCustomerFields(
  input: { externalId?: string; name?: string | null; email?: string | null },
  creating: boolean,
): { externalId?: string; name?: string | null; email?: string | null } | LedgerFailure {
  const fields: { externalId?: string; name?: string | null; email?: string | null } = {};
  if (creating || input.externalId !== undefined) {
    const externalId = checkExternalId(input.externalId);
    if (isFailure(externalId)) return externalId;
    fields.externalId = externalId;
  }
  if (input.name !== undefined) {
    const name = checkName(input.name, "name", false);
    if (isFailure(name)) return name;
    fields.name = name;
  }
  if (input.email !== undefined) {
    const email = checkEmail(input.email);
    if (isFailure(email)) return email;
    fields.email = email;
  }
  return fields;
}

export interface OpenAccountInput {
  customerId: string;
  name: string;
  currency: string;
  /** How far below zero the balance may go; default 0. */
  overdraftLimit?: bigint | number | string | null;
}

export async function openAccount(
  deps: LedgerDependencies,
  tenantId: string,
  input: OpenAccountInput,
): Promise<LedgerResult<{ account: CreditAccount }>> {
  const name = checkName(input.name);
  if (isFailure(name)) return name;
  const currency = checkCurrency(input.currency);
  if (isFailure(currency)) return currency;
  const overdraftLimit = parseNonNegativeAmount(
    input.overdraftLimit ?? 0n,
    "overdraftLimit",
    "INVALID_OVERDRAFT_LIMIT",
  );
  if (isFailure(overdraftLimit)) return overdraftLimit;
  const customer = await deps.database.write.customer.findFirst({
    where: { id: input.customerId, tenantId },
    select: { id: true },
  });
  if (!customer) return customerNotFound("customerId", input.customerId);
  const account = await deps.database.write.creditAccount.create({
    data: { tenantId, customerId: customer.id, name: name as string, currency, overdraftLimit },
  });
  return { ok: true, account };
}

export interface UpdateAccountInput {
  accountId: string;
  name?: string;
  /**
   * A lower limit than the current debt is allowed: it only stops further overdrawing. One that would leave
   * pending holds reserving more than the balance and the new limit cover is refused with CREDITS_HELD.
   */
  overdraftLimit?: bigint | number | string;
}

export async function updateAccount(
  deps: LedgerDependencies,
  tenantId: string,
  input: UpdateAccountInput,
): Promise<LedgerResult<{ account: CreditAccount }>> {
  const data: { name?: string; overdraftLimit?: bigint } = {};
  if (input.name !== undefined) {
    const name = checkName(input.name);
    if (isFailure(name)) return name;
    data.name = name as string;
  }
  if (input.overdraftLimit !== undefined) {
    const limit = parseNonNegativeAmount(input.overdraftLimit, "overdraftLimit", "INVALID_OVERDRAFT_LIMIT");
    if (isFailure(limit)) return limit;
    data.overdraftLimit = limit;
  }
  const result = await runWrite(deps.database, deps.transactions, async (tx) => {
    const session = new WriteSession(tx, deps.database.engine, tenantId, deps.clock());
    const problem = await session.lock([{ id: input.accountId, field: "accountId" }]);
    if (problem) rollback(problem);
    // A lower limit may not take the overdraft that pending holds rely on. Lapsed grants are settled first
    // (no statement unless one is due), so that the check sees the balance a reader would be shown.
    const lowered =
      data.overdraftLimit !== undefined && data.overdraftLimit < session.account(input.accountId).overdraftLimit;
    if (lowered && session.held(input.accountId) > 0n) {
      await session.settleDueGrants([input.accountId]);
      const held = session.checkHeldCovered(input.accountId, { overdraftLimit: data.overdraftLimit }, "overdraftLimit");
      if (held) rollback(held);
      await session.finish();
    }
    const changes = [
      ...(data.name !== undefined ? [sql`name = ${data.name}`] : []),
      ...(data.overdraftLimit !== undefined ? [sql`overdraft_limit = ${data.overdraftLimit}`] : []),
      sql`updated_at = ${session.now}`,
    ];
    return updatedAccount(
      tx,
      sql`UPDATE credit_account SET ${join(changes)} WHERE id = ${input.accountId} RETURNING *`,
    );
  });
  return isFailure(result) ? result : { ok: true, account: result };
}

/** Closes an account that holds nothing (after settling lapsed grants). A closed account takes no actions. */
export async function closeAccount(
  deps: LedgerDependencies,
  tenantId: string,
  input: { accountId: string },
): Promise<LedgerResult<{ account: CreditAccount }>> {
  const result = await runWrite(deps.database, deps.transactions, async (tx) => {
    const session = new WriteSession(tx, deps.database.engine, tenantId, deps.clock());
    const problem = await session.lock([{ id: input.accountId, field: "accountId" }]);
    if (problem) rollback(problem);
    if (session.account(input.accountId).status === "CLOSED") {
      rollback(failure("ACCOUNT_ALREADY_CLOSED", "accountId", "The credit account is already closed."));
    }
    await session.settleDueGrants([input.accountId]);
    const balance = session.balance(input.accountId);
    if (balance !== 0n) {
      rollback(
        failure(
          "ACCOUNT_NOT_EMPTY",
          "accountId",
          `The account still holds ${balance}; move or reduce it to zero before closing.`,
          {
            balance: balance.toString(),
          },
        ),
      );
    }
    // A pending hold on an overdraft reserves credits of an account whose balance is zero: it must be
    // captured or released first, or it would outlive its account.
    const held = session.held(input.accountId);
    if (held !== 0n) {
      rollback(
        failure(
          "ACCOUNT_NOT_EMPTY",
          "accountId",
          `Pending holds reserve ${held} on the account; capture or release them before closing.`,
          { held: held.toString() },
        ),
      );
    }
    await session.finish();
    return updatedAccount(
      tx,
      sql`UPDATE credit_account SET status = ${"CLOSED"}, closed_at = ${session.now}, updated_at = ${session.now}
          WHERE id = ${input.accountId} RETURNING *`,
    );
  });
  return isFailure(result) ? result : { ok: true, account: result };
}

async function updatedAccount(tx: SqlRunner, update: Sql): Promise<CreditAccount> {
  const [account] = await tx.query<CreditAccount>(update);
  if (!account) throw new Error("Bug: a locked account was not updated.");
  return account;
}

export interface PlaceInput {
  name: string;
  /** The tenant's own id for it, unique per tenant. */
  externalId?: string | null;
}

export async function createStore(
  deps: LedgerDependencies,
  tenantId: string,
  input: PlaceInput,
): Promise<LedgerResult<{ store: Store }>> {
  const result = await createPlace(deps, tenantId, input, "store");
  return isFailure(result) ? result : { ok: true, store: result as Store };
}

export async function createPartner(
  deps: LedgerDependencies,
  tenantId: string,
  input: PlaceInput,
): Promise<LedgerResult<{ partner: Partner }>> {
  const result = await createPlace(deps, tenantId, input, "partner");
  return isFailure(result) ? result : { ok: true, partner: result as Partner };
}

async function createPlace(
  deps: LedgerDependencies,
  tenantId: string,
  input: PlaceInput,
  kind: "store" | "partner",
): Promise<Store | Partner | LedgerFailure> {
  const name = checkName(input.name);
  if (isFailure(name)) return name;
  let externalId: string | null = null;
  if (emptyToNull(input.externalId) !== null) {
    const checked = checkExternalId(input.externalId);
    if (isFailure(checked)) return checked;
    externalId = checked;
  }
  return runPrismaWrite(deps.database, deps.transactions, async (tx) => {
    // Prisma's delegates for the two models have the same shape but distinct types.
    const delegate = (kind === "store" ? tx.store : tx.partner) as unknown as typeof tx.store;
    if (externalId !== null) {
      const taken = await delegate.findUnique({
        where: { tenantId_externalId: { tenantId, externalId } },
        select: { id: true },
      });
      if (taken) rollback(externalIdTaken(kind));
    }
    return delegate.create({ data: { tenantId, name: name as string, externalId } });
  });
}

function externalIdTaken(kind: string): LedgerFailure {
  return failure("EXTERNAL_ID_TAKEN", "externalId", `Another ${kind} of this tenant already has this external id.`, {
    kind,
  });
}

export function customerNotFound(field: string, id: string): LedgerFailure {
  return failure("CUSTOMER_NOT_FOUND", field, "No customer with this id exists.", { id });
}
