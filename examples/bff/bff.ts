// A small backend-for-frontend (BFF) over the gateway, typed end to end: the result and variable types come
// from graphql-codegen (generated/, from operations.graphql and the gateway's schema.graphql), so a schema
// change that breaks this code fails its type check (test/typed-client.test.ts) before it fails a customer.
//
// It sends each operation by its id (the document's SHA-256) when the gateway accepts only trusted
// documents, and as text otherwise. Run it against a gateway:
//
//   npm run example:codegen
//   GATEWAY_URL=http://127.0.0.1:4000/graphql API_KEY=clk_... npx tsx examples/bff/bff.ts CUST-1001
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { CustomerSummaryDocument, GrantBonusDocument } from "./generated/graphql";

export interface GatewayClient {
  /** The gateway's GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  url: string;
  apiKey: string;
  /** Send documents by id only, for a gateway with ARBITRARY_OPERATIONS=false. */
  trustedDocumentsOnly?: boolean;
  /** Replaces the global fetch (tests pass the gateway's own). */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

/** A top-level error: a fault or a refused request, never a business failure (those are userErrors). */
export class GatewayError extends Error {
  constructor(readonly errors: readonly { message: string; extensions?: { code?: string } }[]) {
    super(errors.map((error) => `${error.extensions?.code ?? "ERROR"}: ${error.message}`).join("; "));
    this.name = "GatewayError";
  }
}

async function execute<Result, Variables>(
  client: GatewayClient,
  document: TypedDocumentNode<Result, Variables>,
  variables: Variables,
): Promise<Result> {
  // graphql-codegen's persisted documents put each document's hash on it; it is the id in the manifest.
  const hash = (document as { __meta__?: { hash?: string } }).__meta__?.hash;
  if (client.trustedDocumentsOnly && !hash) throw new Error("The document has no hash: run npm run example:codegen");
  const body = client.trustedDocumentsOnly ? { documentId: hash, variables } : { query: print(document), variables };
  const response = await (client.fetch ?? fetch)(client.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json, application/json",
      authorization: `Bearer ${client.apiKey}`,
    },
    body: JSON.stringify(body),
  });
  const result = (await response.json()) as { data?: Result | null; errors?: GatewayError["errors"] };
  if (result.errors?.length || !result.data) throw new GatewayError(result.errors ?? []);
  return result.data;
}

/** What the frontend shows of a customer. Amounts stay strings of minor units: never a float. */
export interface CustomerView {
  id: string;
  displayName: string;
  balances: { currency: string; balance: string; available: string }[];
  accounts: { id: string; label: string }[];
}

export async function customerView(client: GatewayClient, externalId: string): Promise<CustomerView | null> {
  const { customer } = await execute(client, CustomerSummaryDocument, { externalId });
  if (!customer) return null;
  return {
    id: customer.id,
    // The name is optional in the API; the tenant's own id always exists.
    displayName: customer.name ?? customer.externalId,
    balances: customer.balances.map(({ currency, balance, available }) => ({ currency, balance, available })),
    accounts: customer.accounts.map((account) => ({ id: account.id, label: `${account.name} (${account.currency})` })),
  };
}

export type BonusResult =
  | { ok: true; replayed: boolean; balance: string }
  | { ok: false; code: string; field: readonly string[] | null; message: string };

/** Grants a bonus once per idempotency key: a retry of the same grant answers the original. */
export async function grantBonus(
  client: GatewayClient,
  input: { accountId: string; amount: string; idempotencyKey: string; note?: string },
): Promise<BonusResult> {
  const { deposit } = await execute(client, GrantBonusDocument, { input });
  const [error] = deposit.userErrors;
  if (error) return { ok: false, code: error.code, field: error.field ?? null, message: error.message };
  const account = deposit.accounts.find((candidate) => candidate.id === input.accountId);
  if (!account) throw new Error("The deposit did not report the account it credited");
  return { ok: true, replayed: deposit.replayed, balance: account.balance };
}

// Run as a script: print one customer's view.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const client: GatewayClient = {
    url: process.env.GATEWAY_URL ?? "http://127.0.0.1:4000/graphql",
    apiKey: process.env.API_KEY ?? "",
    trustedDocumentsOnly: process.env.TRUSTED_DOCUMENTS_ONLY === "true",
  };
  console.log(JSON.stringify(await customerView(client, process.argv[2] ?? "CUST-1001"), null, 2));
}
