// The checked-in SDL as client tooling sees it: Relay's compiler must compile typical operations against it,
// and graphql-schema-linter's standard rules (descriptions, naming, Relay connection, arguments and page
// info specs, defined types used) must find nothing. Neither depends on the database; the test runs in both
// projects like every other.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile, mkdir, cp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const projectRoot = path.resolve(import.meta.dirname, "..");
const binary = (name: string) => path.join(projectRoot, "node_modules", ".bin", name);
const workDirectories: string[] = [];

afterAll(async () => {
  for (const directory of workDirectories) await rm(directory, { recursive: true, force: true });
});

describe("schema.graphql with client tooling", () => {
  it("compiles Relay operations with relay-compiler", async () => {
    const directory = await mkdtemp(path.join(tmpdir(), "relay-"));
    workDirectories.push(directory);
    await mkdir(path.join(directory, "src"));
    await mkdir(path.join(directory, "generated"));
    await cp(path.join(projectRoot, "test/fixtures/relay/operations.ts"), path.join(directory, "src/operations.ts"));
    await cp(path.join(projectRoot, "schema.graphql"), path.join(directory, "schema.graphql"));
    await writeFile(
      path.join(directory, "relay.config.json"),
      JSON.stringify({
        src: "./src",
        schema: "./schema.graphql",
        language: "typescript",
        artifactDirectory: "./generated",
      }),
    );
    const { stdout, stderr } = await run(binary("relay-compiler"), [], { cwd: directory });
    expect(`${stdout}${stderr}`).toContain("Compilation completed");
    expect(await readdir(path.join(directory, "generated"))).toEqual(
      expect.arrayContaining([
        "operationsCustomerHistoryQuery.graphql.ts",
        "operationsRefetchQuery.graphql.ts",
        "operationsDepositMutation.graphql.ts",
        "operationsTransferMutation.graphql.ts",
      ]),
    );
  });

  it("passes graphql-schema-linter's standard rules", async () => {
    const result = await run(binary("graphql-schema-linter"), [
      "--format",
      "json",
      path.join(projectRoot, "schema.graphql"),
    ]).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    const report = JSON.parse(result.stdout) as { errors: { message: string; rule: string }[] };
    expect(report.errors).toEqual([]);
  });
});
