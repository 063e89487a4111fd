// Accept-to-answer time: a request that waits before the gateway gets to it (here: the event loop is blocked
// right after its connection was accepted, as under CPU starvation) shows that wait in the request log's
// totalDurationMs and in http_request_total_duration_seconds, while durationMs stays short. Independent of the
// engine; run on both.
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.ts";
import { type RunningHttpServer, startHttpServer } from "../../src/server/http.ts";
import { createGateway } from "../../src/server/yoga.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

let testDatabase: TestDatabase | undefined;
let server: RunningHttpServer | undefined;

afterEach(async () => {
  await server?.shutdown();
  server = undefined;
  await testDatabase?.drop();
  testDatabase = undefined;
});

function blockEventLoop(milliseconds: number): void {
  const until = performance.now() + milliseconds;
  while (performance.now() < until) {
    // busy: nothing else in this process runs meanwhile
  }
}

/** Sends one raw HTTP request on a new connection and resolves with the response text. */
async function rawRequest(port: number, path: string, accepted: Promise<void>, blockMs: number): Promise<string> {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  await accepted;
  let text = "";
  socket.on("data", (chunk) => (text += chunk.toString()));
  const ended = new Promise<void>((resolve) => socket.once("end", resolve));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n\r\n`);
  // The gateway has accepted the connection but has not read the request yet: starve it.
  blockEventLoop(blockMs);
  await ended;
  return text;
}

describe("accept-to-answer time", () => {
  it("counts the time a request waited before the gateway started on it", async () => {
    testDatabase = await createTestDatabase();
    const lines: Record<string, unknown>[] = [];
    const gateway = createGateway({
      database: testDatabase.database,
      config: loadConfig({ LOG_LEVEL: "info" }),
      logWriter: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
    });
    server = await startHttpServer(gateway, { host: "127.0.0.1", port: 0, shutdownTimeoutMs: 1_000 }, { signals: [] });
    const accepted = new Promise<void>((resolve) => server!.server.once("connection", () => resolve()));

    const response = await rawRequest(server.port, "/health", accepted, 400);
    expect(response).toMatch(/^HTTP\/1\.1 200/);

    const line = lines.find((entry) => entry.msg === "request" && entry.path === "/health")!;
    expect(line).toBeDefined();
    expect(line.totalDurationMs as number).toBeGreaterThanOrEqual(350);
    expect(line.durationMs as number).toBeLessThan(line.totalDurationMs as number);

    const metrics = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    const sum = metrics.match(/^http_request_total_duration_seconds_sum\{[^}]*route="\/health"[^}]*\} (\S+)$/m);
    expect(sum).not.toBeNull();
    expect(Number(sum![1])).toBeGreaterThanOrEqual(0.35);
    const plain = metrics.match(/^http_request_duration_seconds_sum\{[^}]*route="\/health"[^}]*\} (\S+)$/m);
    expect(Number(plain![1])).toBeLessThan(Number(sum![1]));
  });
});
