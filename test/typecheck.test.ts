// The whole project type-checks (strict, no unused locals). npm test runs the code through tsx, which strips
// types without checking them, so without this a type error would only show at run time, if at all.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { testEngine } from "./support/database.ts";

const projectRoot = path.resolve(import.meta.dirname, "..");

// Types do not depend on the engine, so one project checks them.
describe.runIf(testEngine === "sqlite")("TypeScript", () => {
  it("type-checks the project with tsc --noEmit", async () => {
    const tsc = path.join(projectRoot, "node_modules", ".bin", "tsc");
    const result = await promisify(execFile)(tsc, ["--noEmit", "-p", projectRoot], { cwd: projectRoot }).catch(
      (error: { stdout: string; stderr: string }) => error,
    );
    expect(`${result.stdout}${result.stderr}`.trim()).toBe("");
  });
});
