// The whole tree is formatted and passes the linter (Biome, configured in biome.json): a file that is not
// formatted, or breaks a lint rule, fails the test suite and so CI, beside the type check.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { testEngine } from "./support/database.ts";

const projectRoot = path.resolve(import.meta.dirname, "..");

// Style does not depend on the engine, so one project checks it.
describe.runIf(testEngine === "sqlite")("formatting and lint", () => {
  it("biome ci finds nothing to change", async () => {
    const biome = path.join(projectRoot, "node_modules", ".bin", "biome");
    const result = await promisify(execFile)(biome, ["ci", "--colors=off", "--max-diagnostics=20", projectRoot], {
      cwd: projectRoot,
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      () => ({ failed: false, output: "" }),
      (error: { stdout: string; stderr: string }) => ({ failed: true, output: `${error.stdout}${error.stderr}` }),
    );
    expect(result.output).toBe("");
    expect(result.failed).toBe(false);
  });
});
