// The example BFF (examples/bff) as a frontend team builds it: graphql-codegen generates its types from
// schema.graphql and its operations, TypeScript checks it against them, and it runs against the gateway by
// trusted-document ids only, from the manifest codegen wrote. A schema change that breaks it (a field it
// reads made nullable, a field removed) fails here, which is what keeps the API from breaking clients
// unnoticed. Codegen and tsc come from the root devDependencies, so CI's `npm ci` has them, offline.
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/config.ts";
import { createGateway } from "../src/server/yoga.ts";
import { type ApiFixture, createApiFixture } from "./support/api.ts";
import { testEngine } from "./support/database.ts";

const run = promisify(execFile);
const projectRoot = path.resolve(import.meta.dirname, "..");
const binary = (name: string) => path.join(projectRoot, "node_modules", ".bin", name);
const workDirectories: string[] = [];

afterAll(async () => {
  for (const directory of workDirectories) await rm(directory, { recursive: true, force: true });
});

/**
 * A copy of the example beside a copy of the schema (changed by `editSchema`), with the project's packages,
 * so that the example's relative paths and imports resolve as in the repository.
 */
async function exampleCopy(editSchema: (sdl: string) => string = (sdl) => sdl): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), "typed-client-"));
  workDirectories.push(directory);
  await cp(path.join(projectRoot, "examples/bff"), path.join(directory, "examples/bff"), {
    recursive: true,
    filter: (source) => !source.includes(`${path.sep}generated`),
  });
  await writeFile(
    path.join(directory, "schema.graphql"),
    editSchema(await readFile(path.join(projectRoot, "schema.graphql"), "utf8")),
  );
  await symlink(path.join(projectRoot, "node_modules"), path.join(directory, "node_modules"), "dir");
  return path.join(directory, "examples/bff");
}

/** Runs a command and returns its output and whether it succeeded, instead of throwing on failure. */
async function attempt(command: string, args: string[], cwd: string): Promise<{ ok: boolean; output: string }> {
  try {
    // graphql-codegen prints nothing, not even why it failed, when NODE_ENV is "test" (as vitest sets it).
    const { NODE_ENV: _testEnvironment, ...env } = process.env;
    const { stdout, stderr } = await run(command, args, { cwd, env });
    return { ok: true, output: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}${failed.message}` };
  }
}

const codegen = (example: string) =>
  attempt(binary("graphql-codegen"), ["--config", "codegen.ts", "--verbose"], example);
const typecheck = (example: string) => attempt(binary("tsc"), ["--noEmit", "-p", example], example);

let example: string;

beforeAll(async () => {
  example = await exampleCopy();
  const generated = await codegen(example);
  expect(generated.output).not.toMatch(/error/i);
  expect(generated.ok).toBe(true);
});

describe("the typed client example", () => {
  // Types do not depend on the engine, so one project checks them.
  describe.runIf(testEngine === "sqlite")("against schema.graphql", () => {
    it("type-checks with the types graphql-codegen generates from the checked-in schema", async () => {
      expect(await typecheck(example)).toEqual({ ok: true, output: "" });
    });

    it("fails the type check when a field it reads becomes nullable", async () => {
      const changed = await exampleCopy((sdl) =>
        sdl.replace(/(type Customer implements Node \{[\s\S]*?externalId: )String!/, "$1String"),
      );
      expect((await codegen(changed)).ok).toBe(true);
      const checked = await typecheck(changed);
      expect(checked.ok).toBe(false);
      expect(checked.output).toMatch(/bff\.ts.*error TS2322/);
    });

    it("fails generation when an operation selects a field the schema no longer has", async () => {
      const changed = await exampleCopy((sdl) =>
        // The field and its description.
        sdl.replace(/(type DepositPayload \{[\s\S]*?)\n\s*"""[^"]*"""\s*replayed: Boolean!/, "$1"),
      );
      const generated = await codegen(changed);
      expect(generated.ok).toBe(false);
      expect(generated.output).toMatch(/Cannot query field "replayed" on type "DepositPayload"/);
    });
  });

  describe("against the gateway, by trusted-document ids only", () => {
    let fixture: ApiFixture;
    beforeAll(async () => {
      fixture = await createApiFixture();
    });
    afterAll(async () => {
      await fixture?.drop();
    });

    it("reads a customer and grants a bonus once per idempotency key", async () => {
      const customerId = await fixture.createCustomer("CUST-BFF-1", { name: "Eva Svobodová" });
      const accountId = await fixture.openAccount(customerId, { currency: "PTS", name: "Body" });
      // The manifest codegen wrote is the gateway's whole list of accepted documents.
      const gateway = createGateway({
        database: fixture.database,
        ledger: fixture.ledger,
        config: loadConfig({
          LOG_LEVEL: "silent",
          PERSISTED_OPERATIONS_FILE: path.join(example, "generated/persisted-documents.json"),
          ARBITRARY_OPERATIONS: "false",
        }),
      });
      // Imported from the copy, beside its generated code; typed here by hand, since the root project's type
      // check cannot see generated files that only this test writes.
      const bff = (await import(pathToFileURL(path.join(example, "bff.ts")).href)) as {
        customerView(client: unknown, externalId: string): Promise<unknown>;
        grantBonus(client: unknown, input: Record<string, string>): Promise<unknown>;
      };
      const client = {
        url: "http://gateway.test/graphql",
        apiKey: fixture.key,
        trustedDocumentsOnly: true,
        fetch: (url: string, init: RequestInit) => Promise.resolve(gateway.fetch(url, init)),
      };

      expect(await bff.customerView(client, "CUST-BFF-1")).toEqual({
        id: customerId,
        displayName: "Eva Svobodová",
        balances: [{ currency: "PTS", balance: "0", available: "0" }],
        accounts: [{ id: accountId, label: "Body (PTS)" }],
      });
      const bonus = { accountId, amount: "500", idempotencyKey: "bff-bonus-1" };
      expect(await bff.grantBonus(client, bonus)).toEqual({ ok: true, replayed: false, balance: "500" });
      expect(await bff.grantBonus(client, bonus)).toEqual({ ok: true, replayed: true, balance: "500" });
      expect(await bff.grantBonus(client, { ...bonus, amount: "0", idempotencyKey: "bff-bonus-2" })).toMatchObject({
        ok: false,
        code: "AMOUNT_NOT_POSITIVE",
      });
      expect(await bff.customerView(client, "CUST-NOBODY")).toBeNull();
      // The same client sending text is refused: only the manifest's documents run.
      await expect(bff.customerView({ ...client, trustedDocumentsOnly: false }, "CUST-BFF-1")).rejects.toThrow(
        /PERSISTED_QUERY_ONLY/,
      );
    });
  });
});
