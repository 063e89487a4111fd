-- The peer's side of workload (iv): PostGraphile has no ledger logic of its own, so the idiomatic PostGraphile
-- way to offer "deposit" and "transfer" is a VOLATILE SQL function, exposed as a mutation
-- (benchDeposit(input: { accountId, amount }), benchTransfer(input: { sourceId, targetId, amount })).
-- They write exactly the rows the gateway's ledger writes for the same operation on this sample data
-- (src/ledger/write-session.ts): the action, one entry per account (sequence = entry_count + 1, balances chained),
-- the deposit's new grant + CREDIT allocation; for a transfer the source's grants spent in the ledger's order
-- (priority, expiry nulls last, effective time, id), a DEBIT allocation each, a mirrored grant in the target
-- (same name, category, priority, expiry) + CREDIT allocation; then the account balances/entry counts.
-- Accounts are locked FOR UPDATE in id order in one statement (deadlock-free, as the ledger does).
-- Simplified against the gateway: no idempotency keys, no expiry settlement, no overdraft (refused), no
-- tenant/API-key check, no per-request grant-total assertion; initiator recorded as SYSTEM. So this is a lower
-- bound on the work per mutation, between the raw pgbench transaction and the gateway.
-- Afterwards the gateway's verifyLedger must still find the ledger clean.
--   psql -f peer-mutations.sql <url>   (bench/run.ts loads it into the benchmark database)
create or replace function bench_deposit(account_id text, amount bigint) returns credit_action
language plpgsql volatile as $$
#variable_conflict use_column
declare
  acc credit_account;
  act credit_action;
  ts timestamp(3) := (now() at time zone 'UTC');
  grant_id text := gen_random_uuid()::text;
begin
  if bench_deposit.amount <= 0 then raise exception 'AMOUNT_NOT_POSITIVE'; end if;
  select * into acc from credit_account where id = bench_deposit.account_id for update;
  if acc.id is null or acc.status <> 'OPEN' then raise exception 'ACCOUNT_NOT_FOUND'; end if;
  if acc.balance < 0 then raise exception 'overdrawn accounts are not supported here'; end if;
  insert into credit_action (id, tenant_id, type, amount, currency, target_account_id, initiator_type,
                             effective_at, created_at, updated_at)
  values (gen_random_uuid()::text, acc.tenant_id, 'DEPOSIT', bench_deposit.amount, acc.currency, acc.id, 'SYSTEM', ts, ts, ts)
  returning * into act;
  insert into credit_grant (id, tenant_id, account_id, category, priority, original_amount, remaining_amount,
                            effective_at, created_by_action_id, created_at, updated_at)
  values (grant_id, acc.tenant_id, acc.id, 'PAID', 50, bench_deposit.amount, bench_deposit.amount, ts, act.id, ts, ts);
  insert into credit_allocation (action_id, grant_id, direction, amount) values (act.id, grant_id, 'CREDIT', bench_deposit.amount);
  insert into credit_entry (id, tenant_id, action_id, account_id, customer_id, sequence, direction, amount,
                            balance_before, balance_after, type, currency, initiator_type, effective_at, created_at)
  values (gen_random_uuid()::text, acc.tenant_id, act.id, acc.id, acc.customer_id, acc.entry_count + 1, 'CREDIT',
          bench_deposit.amount, acc.balance, acc.balance + bench_deposit.amount, 'DEPOSIT', acc.currency, 'SYSTEM', ts, ts);
  update credit_account set balance = balance + bench_deposit.amount, entry_count = entry_count + 1, updated_at = ts
  where id = acc.id;
  return act;
end $$;

create or replace function bench_transfer(source_id text, target_id text, amount bigint) returns credit_action
language plpgsql volatile as $$
#variable_conflict use_column
declare
  src credit_account;
  dst credit_account;
  act credit_action;
  g credit_grant;
  ts timestamp(3) := (now() at time zone 'UTC');
  rest bigint := bench_transfer.amount;
  part bigint;
  new_grant text;
begin
  if bench_transfer.amount <= 0 then raise exception 'AMOUNT_NOT_POSITIVE'; end if;
  if bench_transfer.source_id = bench_transfer.target_id then raise exception 'SAME_ACCOUNT'; end if;
  perform 1 from credit_account where id in (bench_transfer.source_id, bench_transfer.target_id) order by id for update;
  select * into src from credit_account where id = bench_transfer.source_id;
  select * into dst from credit_account where id = bench_transfer.target_id;
  if src.id is null or dst.id is null or src.status <> 'OPEN' or dst.status <> 'OPEN' then raise exception 'ACCOUNT_NOT_FOUND'; end if;
  if src.currency <> dst.currency then raise exception 'CURRENCY_MISMATCH'; end if;
  if src.balance < bench_transfer.amount or dst.balance < 0 then raise exception 'INSUFFICIENT_CREDITS'; end if;
  insert into credit_action (id, tenant_id, type, amount, currency, source_account_id, target_account_id, initiator_type,
                             effective_at, created_at, updated_at)
  values (gen_random_uuid()::text, src.tenant_id, 'TRANSFER', bench_transfer.amount, src.currency, src.id, dst.id, 'SYSTEM', ts, ts, ts)
  returning * into act;
  for g in select * from credit_grant where account_id = src.id and remaining_amount > 0
           order by priority, expires_at nulls last, effective_at, id loop
    exit when rest = 0;
    part := least(g.remaining_amount, rest);
    update credit_grant set remaining_amount = remaining_amount - part, updated_at = ts where id = g.id;
    insert into credit_allocation (action_id, grant_id, direction, amount) values (act.id, g.id, 'DEBIT', part);
    new_grant := gen_random_uuid()::text;
    insert into credit_grant (id, tenant_id, account_id, name, category, priority, original_amount, remaining_amount,
                              effective_at, expires_at, external_reference, created_by_action_id, created_at, updated_at)
    values (new_grant, dst.tenant_id, dst.id, g.name, g.category, g.priority, part, part, ts, g.expires_at,
            g.external_reference, act.id, ts, ts);
    insert into credit_allocation (action_id, grant_id, direction, amount) values (act.id, new_grant, 'CREDIT', part);
    rest := rest - part;
  end loop;
  if rest <> 0 then raise exception 'grants do not cover the balance'; end if;
  insert into credit_entry (id, tenant_id, action_id, account_id, customer_id, sequence, direction, amount,
                            balance_before, balance_after, type, currency, initiator_type, effective_at, created_at)
  values (gen_random_uuid()::text, src.tenant_id, act.id, src.id, src.customer_id, src.entry_count + 1, 'DEBIT',
          bench_transfer.amount, src.balance, src.balance - bench_transfer.amount, 'TRANSFER', src.currency, 'SYSTEM', ts, ts),
         (gen_random_uuid()::text, dst.tenant_id, act.id, dst.id, dst.customer_id, dst.entry_count + 1, 'CREDIT',
          bench_transfer.amount, dst.balance, dst.balance + bench_transfer.amount, 'TRANSFER', dst.currency, 'SYSTEM', ts, ts);
  -- Since the gateway's ledger keeps each account's next lapse (next_lapse_at), the peer keeps it too: a transfer
  -- can spend the source's earliest-expiring grant and gives the target grants with expiries.
  update credit_account a
     set balance = balance + case when id = src.id then -bench_transfer.amount else bench_transfer.amount end,
         entry_count = entry_count + 1, updated_at = ts,
         next_lapse_at = (select min(g.expires_at) from credit_grant g where g.account_id = a.id and g.remaining_amount > 0)
   where id in (src.id, dst.id);
  return act;
end $$;
