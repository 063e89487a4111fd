// A Server-Sent Events client for subscription tests: sends a subscription through `gateway.fetch` as a
// browser's EventSource-style client would (POST with `Accept: text/event-stream`), and reads the stream's
// `next` and `complete` events as they arrive.
import type { Gateway } from "../../src/server/yoga.ts";
import type { GraphQLBody } from "./api.ts";

export interface EventStream {
  /** HTTP status of the answer (200 for a stream, or for a refusal sent as one event). */
  status: number;
  contentType: string | null;
  /** The next `next` event's payload; rejects when none arrives within `timeoutMs` or the stream ends first. */
  next(timeoutMs?: number): Promise<GraphQLBody>;
  /** Every payload received so far and not yet taken by `next`. */
  pending(): GraphQLBody[];
  /** Resolves when the server sent `complete` or closed the stream. */
  ended: Promise<void>;
  /** Closes the stream from the client's side (a dropped connection). */
  close(): Promise<void>;
}

export async function openEventStream(
  gateway: Gateway,
  query: string,
  variables: Record<string, unknown>,
  key: string | null,
  headers: Record<string, string> = {},
): Promise<EventStream> {
  const controller = new AbortController();
  const response = await gateway.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "text/event-stream",
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...headers,
    },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  const queue: GraphQLBody[] = [];
  const waiters: { resolve: (body: GraphQLBody) => void; reject: (error: Error) => void }[] = [];
  let finished = false;
  let markEnded: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    markEnded = resolve;
  });
  const finish = () => {
    if (finished) return;
    finished = true;
    markEnded();
    for (const waiter of waiters.splice(0)) waiter.reject(new Error("the stream ended"));
  };
  const deliver = (body: GraphQLBody) => {
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(body);
    else queue.push(body);
  };

  const reader = response.body?.getReader();
  const pump = (async () => {
    if (!reader) return finish();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
          }
          if (event === "complete") return finish();
          if (event === "next" && data.length > 0) deliver(JSON.parse(data.join("\n")) as GraphQLBody);
        }
      }
    } catch {
      // An aborted read is the client closing the stream.
    }
    finish();
  })();

  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    next(timeoutMs = 5_000) {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      if (finished) return Promise.reject(new Error("the stream ended"));
      return new Promise<GraphQLBody>((resolve, reject) => {
        const timer = setTimeout(() => {
          const index = waiters.indexOf(waiter);
          if (index >= 0) waiters.splice(index, 1);
          reject(new Error(`no event within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = {
          resolve: (body: GraphQLBody) => {
            clearTimeout(timer);
            resolve(body);
          },
          reject: (error: Error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        waiters.push(waiter);
      });
    },
    pending: () => queue.splice(0),
    ended,
    async close() {
      controller.abort();
      await reader?.cancel().catch(() => {});
      await pump;
    },
  };
}

/** Waits until `condition` holds, checking every 10 ms, for at most `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Sends one GraphQL request through this gateway (not the fixture's) and returns `data`; fails on errors. */
export async function dataThrough<T = any>(
  gateway: Gateway,
  key: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const response = await gateway.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as GraphQLBody<T>;
  if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data as T;
}
