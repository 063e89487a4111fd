// One OpenTelemetry span per SQL statement, on both engines.
//
// Every statement the gateway sends goes through a Prisma driver adapter: the Prisma client's own, the raw
// SQL of sql.ts, and the statements of transactions (BEGIN is the adapter's; COMMIT and ROLLBACK are sent
// as statements). Wrapping the adapter therefore covers all of them with one wrapper, on PostgreSQL and
// SQLite alike, where @opentelemetry/instrumentation-pg would see only PostgreSQL.
//
// A span carries the statement's text, which holds placeholders and never a value: parameters are always
// bound (sql.ts), and the few spliced fragments are identifiers. The parameters themselves are left out.
import { context, SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import type { SqlDriverAdapter, SqlQuery, Transaction } from "@prisma/driver-adapter-utils";
import type { DatabaseEngine } from "../config/database-url.ts";

const databaseSystem: Record<DatabaseEngine, string> = { postgres: "postgresql", sqlite: "sqlite" };

/** SELECT, INSERT, COMMIT, ...: the statement's first word, as OpenTelemetry's database conventions name it. */
function operationOf(text: string): string {
  return /^\s*([A-Za-z]+)/.exec(text)?.[1]?.toUpperCase() ?? "SQL";
}

export function traceAdapter(adapter: SqlDriverAdapter, tracer: Tracer, engine: DatabaseEngine): SqlDriverAdapter {
  const traced = tracedStatements(tracer, engine);
  const result: SqlDriverAdapter = {
    provider: adapter.provider,
    adapterName: adapter.adapterName,
    queryRaw: (query) => traced(query.sql, () => adapter.queryRaw(query)),
    executeRaw: (query) => traced(query.sql, () => adapter.executeRaw(query)),
    executeScript: (script) => traced(script, () => adapter.executeScript(script)),
    startTransaction: (isolationLevel) =>
      traced("BEGIN", async () => traceTransaction(await adapter.startTransaction(isolationLevel), traced)),
    dispose: () => adapter.dispose(),
  };
  const connectionInfo = adapter.getConnectionInfo;
  if (connectionInfo) result.getConnectionInfo = () => connectionInfo.call(adapter);
  return result;
}

type Traced = <R>(text: string, run: () => Promise<R>) => Promise<R>;

function tracedStatements(tracer: Tracer, engine: DatabaseEngine): Traced {
  return async (text, run) => {
    const operation = operationOf(text);
    const span = tracer.startSpan(
      operation,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "db.system.name": databaseSystem[engine],
          "db.operation.name": operation,
          "db.query.text": text,
        },
      },
      context.active(),
    );
    try {
      return await run();
    } catch (error) {
      // The error's class only: a driver's message can quote the values of a failed row.
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute("error.type", (error as Error)?.name ?? "Error");
      throw error;
    } finally {
      span.end();
    }
  };
}

function traceTransaction(transaction: Transaction, traced: Traced): Transaction {
  return {
    provider: transaction.provider,
    adapterName: transaction.adapterName,
    options: transaction.options,
    queryRaw: (query: SqlQuery) => traced(query.sql, () => transaction.queryRaw(query)),
    executeRaw: (query: SqlQuery) => traced(query.sql, () => transaction.executeRaw(query)),
    commit: () => transaction.commit(),
    rollback: () => transaction.rollback(),
  };
}
