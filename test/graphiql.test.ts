// The GraphiQL page is served without a key, so it must never contain one: not the demo tenant's key on the
// embedded database, not any other. And the server binds to this machine only unless told otherwise.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/config.ts";
import { ensureDemoData } from "../src/seed/demo.ts";
import { createGateway, type Gateway } from "../src/server/yoga.ts";
import { createTestDatabase, type TestDatabase } from "./support/database.ts";

let testDatabase: TestDatabase;
let gateway: Gateway;
let demoKey: string;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  const demo = await ensureDemoData(testDatabase.database);
  demoKey = demo.apiKey as string;
  gateway = createGateway({ database: testDatabase.database, config: loadConfig({ LOG_LEVEL: "silent" }) });
});

afterAll(async () => {
  await testDatabase?.drop();
});

describe("the GraphiQL page", () => {
  it("contains no API key, whoever asks for it", async () => {
    expect(demoKey).toMatch(/^clk_/);
    const askers: Record<string, string>[] = [
      {},
      { "x-forwarded-for": "127.0.0.1" },
      { "x-forwarded-for": "203.0.113.5", host: "localhost:4000" },
      { authorization: `Bearer ${demoKey}` },
    ];
    for (const headers of askers) {
      const response = await gateway.fetch("http://gateway.test/graphql", {
        headers: { accept: "text/html", ...headers },
      });
      expect(response.status).toBe(200);
      const html = await response.text();
      expect(html).toMatch(/graphiql/i);
      expect(html).not.toContain(demoKey);
      expect(html).not.toContain(demoKey.slice(0, 12));
      expect(html).not.toMatch(/clk_[a-z0-9]{8}_/);
      expect(html).toContain("paste your API key here");
    }
  });
});

describe("the default address", () => {
  it("is the loopback interface, so a development server is not reachable from the network", () => {
    expect(loadConfig({}).host).toBe("127.0.0.1");
    expect(loadConfig({ HOST: "0.0.0.0" }).host).toBe("0.0.0.0");
  });
});
