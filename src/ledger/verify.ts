// Checks the ledger's invariants on stored data, independently of the write path that maintains them, and
// returns every discrepancy found (an empty list means the ledger is consistent). Tests run it after every
// scenario; operators can run it on a live database (it only reads).
//
// Per account: its balance equals its credits minus its debits; its entries are numbered 1..n without gaps,
// chain balanceBefore to the previous balanceAfter, and have the account's tenant and customer; its grants hold exactly max(balance, 0); its next_lapse_at
// is the earliest expiry among its grants that still hold credits (null when none), which reads trust to know
// whether expirations are due; each grant's remaining amount equals what was allocated into it minus what
// was taken out, and a void grant holds nothing; its held amount equals the amounts of its pending holds,
// and next_lapse_at also covers their expiries. Not checked, because it is not an invariant: that the balance
// and overdraft cover the held amount. Writes refuse to break it (INSUFFICIENT_CREDITS, CREDITS_HELD), but a
// grant that reaches its expiry lapses whatever holds relied on it; the capture is then limited to what is
// covered (see operations/holds.ts), which the balance-range and grant checks below still hold to.
// Scheduled credits are not in balances before their time: no entry is effective later than it was
// recorded; a scheduled grant holds nothing, has its whole amount scheduled and its deposit has no entry yet;
// the account's scheduled amount is the sum of its scheduled grants', and next_lapse_at also covers their
// effective times; a grant voided before it took effect holds nothing, and neither its deposit nor its void
// has an entry.
// Per hold: a positive amount; captured only when CAPTURED, and at most the amount; closed exactly when no
// longer PENDING; and its actions are its transitions: one HOLD of its amount, then, by its state, one
// REDUCTION of the captured amount, one HOLD_RELEASE or one HOLD_EXPIRATION of its amount.
// Per action: a transfer moves exactly what it takes (one debit and one credit of the action's amount, same
// currency, two accounts); every other action has the single entry its type implies; a reversal mirrors the
// action it reverses.
// Per batch: it wrote all of its items or none (as many actions as it counts, in positions 0..n-1, each
// written by the batch's own transaction).
import type { Database } from "../db/client.ts";
import type {
  CreditAction,
  CreditBatch,
  CreditBatchItem,
  CreditEntry,
  CreditGrant,
  CreditHold,
} from "../generated/postgres/client.ts";
import { int64Max, int64Min, maxBigInt } from "./amounts.ts";

export interface Discrepancy {
  kind: string;
  /** The account, grant or action concerned. */
  id: string;
  message: string;
}

const pageSize = 500;

export async function verifyLedger(
  database: Database,
  scope: { tenantId: string; accountId?: string },
): Promise<Discrepancy[]> {
  const db = database.read;
  const problems: Discrepancy[] = [];
  const accounts = await db.creditAccount.findMany({
    where: { tenantId: scope.tenantId, ...(scope.accountId ? { id: scope.accountId } : {}) },
    orderBy: { id: "asc" },
  });

  for (const account of accounts) {
    const report = (kind: string, message: string) => problems.push({ kind, id: account.id, message });
    let expected = 0n;
    let sequence = 0;
    // The change at each effective moment, to check the balance at every past moment too (balanceAt reads
    // entries by effective time, so a backdated entry raises or lowers every balance after its time). One
    // number per distinct moment of the account: the entries themselves are read a page at a time.
    const changeAt = new Map<number, bigint>();
    for (let cursor: string | undefined; ; ) {
      const entries: CreditEntry[] = await db.creditEntry.findMany({
        where: { accountId: account.id },
        orderBy: { sequence: "asc" },
        take: pageSize,
        ...(cursor ? { skip: 1, cursor: { id: cursor } } : {}),
      });
      for (const entry of entries) {
        sequence += 1;
        if (entry.sequence !== sequence)
          report("entry-sequence", `entry ${entry.id} has sequence ${entry.sequence}, expected ${sequence}`);
        if (entry.balanceBefore !== expected) {
          report(
            "entry-chain",
            `entry ${entry.id} starts from ${entry.balanceBefore}, the previous entry ended at ${expected}`,
          );
        }
        const signed = entry.direction === "CREDIT" ? entry.amount : -entry.amount;
        // Every entry moves credits, but an expiry change's, which moves nothing (0).
        if (entry.type === "EXPIRATION_CHANGE" ? entry.amount !== 0n : entry.amount <= 0n)
          report("entry-amount", `entry ${entry.id} has the amount ${entry.amount}`);
        if (entry.balanceAfter !== entry.balanceBefore + signed) {
          report(
            "entry-arithmetic",
            `entry ${entry.id}: ${entry.balanceBefore} ${entry.direction} ${entry.amount} is not ${entry.balanceAfter}`,
          );
        }
        if (entry.currency !== account.currency) report("entry-currency", `entry ${entry.id} is in ${entry.currency}`);
        // History reads check the tenant on the account or customer, not on every entry (history.ts).
        if (entry.tenantId !== account.tenantId || entry.customerId !== account.customerId)
          report("entry-owner", `entry ${entry.id} belongs to another tenant or customer than its account`);
        // An entry is in the balance from the moment it is recorded: one effective later would put credits in
        // the balance before their time (a scheduled deposit's entry is recorded only once it takes effect).
        if (entry.effectiveAt.getTime() > entry.createdAt.getTime())
          report("entry-before-effect", `entry ${entry.id} was recorded before its effective time`);
        expected += signed;
        const moment = entry.effectiveAt.getTime();
        changeAt.set(moment, (changeAt.get(moment) ?? 0n) + signed);
      }
      if (entries.length < pageSize) break;
      cursor = entries[entries.length - 1]?.id;
    }
    if (account.balance !== expected)
      report("balance", `balance is ${account.balance}, its entries add up to ${expected}`);
    if (account.entryCount !== sequence)
      report("entry-count", `entry count is ${account.entryCount}, it has ${sequence} entries`);
    if (account.balance > int64Max || account.balance < int64Min)
      report("balance-range", "balance is outside the 64-bit range");
    let pastBalance = 0n;
    for (const moment of [...changeAt.keys()].sort((a, b) => a - b)) {
      pastBalance += changeAt.get(moment) ?? 0n;
      if (pastBalance > int64Max || pastBalance < int64Min) {
        const at = new Date(moment).toISOString();
        report("past-balance-range", `balance at ${at} is ${pastBalance}, outside the 64-bit range`);
        break;
      }
    }
    if (account.status === "CLOSED" && account.balance !== 0n)
      report("closed-balance", `closed account holds ${account.balance}`);

    const grants = await db.creditGrant.findMany({
      where: { accountId: account.id },
      select: {
        id: true,
        remainingAmount: true,
        originalAmount: true,
        scheduledAmount: true,
        effectiveAt: true,
        expiresAt: true,
        voidedAt: true,
      },
    });
    const scheduled = grants.reduce((sum, grant) => sum + grant.scheduledAmount, 0n);
    if (account.scheduled !== scheduled)
      report("scheduled", `scheduled is ${account.scheduled}, its scheduled grants add up to ${scheduled}`);
    const held = grants.reduce((sum, grant) => sum + grant.remainingAmount, 0n);
    if (held !== maxBigInt(account.balance, 0n)) {
      report("grants-total", `grants hold ${held}, the positive balance is ${maxBigInt(account.balance, 0n)}`);
    }
    let nextLapse: Date | null = null;
    for (const { remainingAmount, expiresAt } of grants) {
      if (remainingAmount > 0n && expiresAt !== null && (nextLapse === null || expiresAt < nextLapse))
        nextLapse = expiresAt;
    }
    for (const { scheduledAmount, effectiveAt } of grants) {
      if (scheduledAmount > 0n && (nextLapse === null || effectiveAt < nextLapse)) nextLapse = effectiveAt;
    }
    const holds = await db.creditHold.findMany({
      where: { accountId: account.id },
      include: { actions: { select: { type: true, amount: true } } },
    });
    let pendingHeld = 0n;
    for (const hold of holds) {
      if (hold.state !== "PENDING") continue;
      pendingHeld += hold.amount;
      if (hold.expiresAt !== null && (nextLapse === null || hold.expiresAt < nextLapse)) nextLapse = hold.expiresAt;
    }
    if (account.held !== pendingHeld)
      report("held", `held is ${account.held}, its pending holds reserve ${pendingHeld}`);
    for (const hold of holds) checkHold(hold, problems);
    if ((account.nextLapseAt?.getTime() ?? null) !== (nextLapse?.getTime() ?? null)) {
      report(
        "next-lapse",
        `next_lapse_at is ${account.nextLapseAt?.toISOString() ?? "null"}, the earliest expiry of a grant holding credits or a pending hold, or effective time of a scheduled grant, is ${nextLapse?.toISOString() ?? "null"}`,
      );
    }
    const flows = await db.creditAllocation.groupBy({
      by: ["grantId", "direction"],
      where: { grant: { accountId: account.id } },
      _sum: { amount: true },
    });
    for (const grant of grants) {
      const into = flows.find((row) => row.grantId === grant.id && row.direction === "CREDIT")?._sum.amount ?? 0n;
      const outOf = flows.find((row) => row.grantId === grant.id && row.direction === "DEBIT")?._sum.amount ?? 0n;
      if (grant.remainingAmount < 0n)
        problems.push({ kind: "grant-negative", id: grant.id, message: `remaining ${grant.remainingAmount}` });
      if (grant.voidedAt !== null && grant.remainingAmount !== 0n) {
        problems.push({ kind: "grant-void-holds", id: grant.id, message: `void, yet holds ${grant.remainingAmount}` });
      }
      if (grant.scheduledAmount !== 0n) {
        if (
          grant.scheduledAmount !== grant.originalAmount ||
          grant.remainingAmount !== 0n ||
          grant.voidedAt !== null ||
          into !== 0n
        ) {
          problems.push({
            kind: "grant-scheduled",
            id: grant.id,
            message: `scheduled ${grant.scheduledAmount} of ${grant.originalAmount}, yet holds ${grant.remainingAmount}, received ${into} or is void`,
          });
        }
      }
      if (isCancelled(grant) && into !== 0n) {
        problems.push({
          kind: "grant-cancelled",
          id: grant.id,
          message: `voided before it took effect, received ${into}`,
        });
      }
      if (grant.remainingAmount !== into - outOf) {
        problems.push({
          kind: "grant-flows",
          id: grant.id,
          message: `remaining ${grant.remainingAmount}, allocations add up to ${into - outOf}`,
        });
      }
    }
  }

  // Actions of the scope, a page at a time.
  const accountFilter = scope.accountId
    ? { OR: [{ sourceAccountId: scope.accountId }, { targetAccountId: scope.accountId }] }
    : {};
  for (let cursor: string | undefined; ; ) {
    const actions: (CreditAction & { entries: CreditEntry[] })[] = await db.creditAction.findMany({
      where: { tenantId: scope.tenantId, ...accountFilter },
      include: { entries: true },
      orderBy: { id: "asc" },
      take: pageSize,
      ...(cursor ? { skip: 1, cursor: { id: cursor } } : {}),
    });
    const reversed = await db.creditAction.findMany({
      where: { id: { in: actions.map((action) => action.reversesActionId).filter((id): id is string => id !== null) } },
    });
    const named = await db.creditGrant.findMany({
      where: { id: { in: actions.map((action) => action.grantId).filter((id): id is string => id !== null) } },
      select: { id: true, scheduledAmount: true, effectiveAt: true, voidedAt: true, createdByActionId: true },
    });
    for (const action of actions) checkAction(action, reversed, named, problems);
    if (actions.length < pageSize) break;
    cursor = actions[actions.length - 1]?.id;
  }

  // Batches of the scope (those with an action on the account, for one account), a page at a time.
  const batchFilter = scope.accountId ? { items: { some: { action: accountFilter } } } : {};
  for (let cursor: string | undefined; ; ) {
    const batches = await db.creditBatch.findMany({
      where: { tenantId: scope.tenantId, ...batchFilter },
      include: { items: { include: { action: true }, orderBy: { position: "asc" } } },
      orderBy: { id: "asc" },
      take: pageSize,
      ...(cursor ? { skip: 1, cursor: { id: cursor } } : {}),
    });
    for (const batch of batches) checkBatch(batch, problems);
    if (batches.length < pageSize) break;
    cursor = batches[batches.length - 1]?.id;
  }
  return problems;
}

/** A grant voided before it took effect (while scheduled): its deposit and its void never have an entry. */
function isCancelled(grant: { effectiveAt: Date; voidedAt: Date | null }): boolean {
  return grant.voidedAt !== null && grant.voidedAt < grant.effectiveAt;
}

type NamedGrant = Pick<CreditGrant, "id" | "scheduledAmount" | "effectiveAt" | "voidedAt" | "createdByActionId">;

/**
 * A batch wrote all of its items or none: as many actions as it counts, at positions 0..n-1, each the tenant's
 * and written by the batch's own transaction (created at the batch's time).
 */
function checkBatch(
  batch: CreditBatch & { items: (CreditBatchItem & { action: CreditAction })[] },
  problems: Discrepancy[],
): void {
  const report = (kind: string, message: string) => problems.push({ kind, id: batch.id, message });
  if (batch.itemCount <= 0) report("batch-size", `the batch counts ${batch.itemCount} items`);
  if (batch.items.length !== batch.itemCount)
    report("batch-items", `the batch counts ${batch.itemCount} items, ${batch.items.length} were written`);
  batch.items.forEach((item, position) => {
    if (item.position !== position)
      report("batch-position", `item ${item.actionId} is at ${item.position}, expected ${position}`);
    if (item.action.tenantId !== batch.tenantId || item.action.createdAt.getTime() !== batch.createdAt.getTime()) {
      report("batch-action", `action ${item.actionId} was not written by the batch's transaction`);
    }
  });
}

function checkAction(
  action: CreditAction & { entries: CreditEntry[] },
  reversedActions: CreditAction[],
  namedGrants: NamedGrant[],
  problems: Discrepancy[],
): void {
  const report = (kind: string, message: string) => problems.push({ kind, id: action.id, message });
  if (action.amount <= 0n) report("action-amount", `amount ${action.amount} is not positive`);
  const grant = namedGrants.find((candidate) => candidate.id === action.grantId);
  // A deposit names its grant only when it was scheduled; until it takes effect, or when its grant was voided
  // before that, it has no entry, and the void of a grant that never took effect has none either.
  if (action.type === "DEPOSIT" && action.grantId !== null && grant?.createdByActionId !== action.id)
    report("scheduled-link", "a deposit that names a grant it did not create");
  const withoutEntry =
    grant !== undefined &&
    ((action.type === "DEPOSIT" && (grant.scheduledAmount > 0n || isCancelled(grant))) ||
      (action.type === "VOID" && isCancelled(grant)));
  if (withoutEntry) {
    if (action.entries.length !== 0) report("scheduled-entry", `a ${action.type} of a grant not in effect has entries`);
    if (
      action.effectiveAt.getTime() !==
      (action.type === "VOID" ? grant.voidedAt?.getTime() : grant.effectiveAt.getTime())
    )
      report("scheduled-time", `a ${action.type} whose effective time is not its grant's`);
    return;
  }
  const debits = action.entries.filter((entry) => entry.direction === "DEBIT");
  const credits = action.entries.filter((entry) => entry.direction === "CREDIT");
  // An expiry change moves nothing: its one entry is 0, and its amount is what the grant held.
  const entryAmount = action.type === "EXPIRATION_CHANGE" ? 0n : action.amount;
  for (const entry of action.entries) {
    if (entry.amount !== entryAmount)
      report("action-entry-amount", `entry ${entry.id} moves ${entry.amount}, the action ${action.amount}`);
    if (entry.type !== action.type || entry.effectiveAt.getTime() !== action.effectiveAt.getTime()) {
      report("action-entry-copy", `entry ${entry.id} does not repeat the action's type and effective time`);
    }
  }
  const expectDebit = action.sourceAccountId !== null;
  const expectCredit = action.targetAccountId !== null;
  if (debits.length !== (expectDebit ? 1 : 0) || (expectDebit && debits[0]?.accountId !== action.sourceAccountId)) {
    report("action-debit", "the debit entry does not match the source account");
  }
  if (credits.length !== (expectCredit ? 1 : 0) || (expectCredit && credits[0]?.accountId !== action.targetAccountId)) {
    report("action-credit", "the credit entry does not match the target account");
  }
  const shape: Record<CreditAction["type"], [boolean, boolean] | null> = {
    DEPOSIT: [false, true],
    REDUCTION: [true, false],
    TRANSFER: [true, true],
    EXPIRATION: [true, false],
    VOID: [true, false],
    REVERSAL: null,
    HOLD: [false, false],
    HOLD_RELEASE: [false, false],
    HOLD_EXPIRATION: [false, false],
    EXPIRATION_CHANGE: [false, true],
  };
  const wanted = shape[action.type];
  if (wanted && (wanted[0] !== expectDebit || wanted[1] !== expectCredit))
    report("action-shape", `a ${action.type} with the wrong sides`);
  if (action.type === "TRANSFER" && action.sourceAccountId === action.targetAccountId)
    report("transfer-self", "transfer to itself");
  const holdTypes: CreditAction["type"][] = ["HOLD", "HOLD_RELEASE", "HOLD_EXPIRATION"];
  if (holdTypes.includes(action.type) && action.holdId === null)
    report("hold-link", `a ${action.type} without its hold`);
  if (action.holdId !== null && !holdTypes.includes(action.type) && action.type !== "REDUCTION")
    report("hold-link", `a ${action.type} linked to a hold`);
  if (action.type === "REVERSAL") {
    const original = reversedActions.find((candidate) => candidate.id === action.reversesActionId);
    if (!original) {
      report("reversal-link", "a reversal that reverses nothing");
    } else if (
      original.amount !== action.amount ||
      original.sourceAccountId !== action.targetAccountId ||
      original.targetAccountId !== action.sourceAccountId
    ) {
      report("reversal-mirror", `does not mirror action ${original.id}`);
    }
  } else if (action.reversesActionId !== null) {
    report("reversal-link", `a ${action.type} linked as a reversal`);
  }
}

function checkHold(
  hold: CreditHold & { actions: { type: CreditAction["type"]; amount: bigint }[] },
  problems: Discrepancy[],
): void {
  const report = (kind: string, message: string) => problems.push({ kind, id: hold.id, message });
  if (hold.amount <= 0n) report("hold-amount", `amount ${hold.amount} is not positive`);
  const captured = hold.state === "CAPTURED";
  if (captured ? hold.capturedAmount <= 0n || hold.capturedAmount > hold.amount : hold.capturedAmount !== 0n)
    report("hold-captured", `a ${hold.state} hold of ${hold.amount} with ${hold.capturedAmount} captured`);
  if ((hold.closedAt === null) !== (hold.state === "PENDING"))
    report("hold-closed", `a ${hold.state} hold ${hold.closedAt === null ? "without" : "with"} a closing time`);
  const expected: [CreditAction["type"], bigint][] = [["HOLD", hold.amount]];
  if (captured) expected.push(["REDUCTION", hold.capturedAmount]);
  if (hold.state === "RELEASED") expected.push(["HOLD_RELEASE", hold.amount]);
  if (hold.state === "EXPIRED") expected.push(["HOLD_EXPIRATION", hold.amount]);
  const describe = (actions: { type: string; amount: bigint }[]) =>
    actions
      .map((action) => `${action.type} ${action.amount}`)
      .sort()
      .join(", ");
  const found = describe(hold.actions);
  const wanted = describe(expected.map(([type, amount]) => ({ type, amount })));
  if (found !== wanted) report("hold-actions", `a ${hold.state} hold has the actions [${found}], expected [${wanted}]`);
}
