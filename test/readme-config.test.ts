// The README's tables of environment variables (the basic settings under "Configuration" and the rest under
// "Limits, guards and operations") list exactly the variables the code reads, in the code's order, with the
// code's defaults: a variable added, renamed or given a new default in src/config/config.ts fails here until
// the README says the same.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configVariables, loadConfig } from "../src/config/config.ts";

/** The rows of every README table whose header starts with "| variable", as [name, default]. */
function readmeVariables(): [string, string][] {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const rows: [string, string][] = [];
  let inTable = false;
  for (const line of readme.split("\n")) {
    if (/^\|\s*variable\s*\|/.test(line)) {
      inTable = true;
      continue;
    }
    if (!line.startsWith("|")) inTable = false;
    if (!inTable || /^\|\s*-/.test(line)) continue;
    const [name = "", defaultValue = ""] = line
      .split("|")
      .slice(1, 3)
      .map((cell) => cell.trim().replace(/^`(.*)`$/, "$1"));
    rows.push([name, defaultValue]);
  }
  return rows;
}

describe("the README's configuration tables", () => {
  it("list exactly the variables of src/config/config.ts, in its order, with its defaults", () => {
    const documented = readmeVariables();
    expect(documented.length).toBeGreaterThan(0);
    expect(documented).toEqual(configVariables.map((variable) => [variable.name, variable.default]));
  });

  it("give defaults the code accepts", () => {
    // Every default, set explicitly, must load: a default that is its own parser's problem would only show
    // when someone copied it from the README.
    const env = Object.fromEntries(configVariables.map((variable) => [variable.name, variable.default]));
    expect(loadConfig(env)).toEqual(loadConfig({}));
  });
});
