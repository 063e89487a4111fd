// The response's media type follows the Accept header's q-values (RFC 9110): q=0 refuses a type, the highest
// q wins, ties go to the range listed first and then to plain JSON, and nothing acceptable is 406
// NOT_ACCEPTABLE with a JSON body. The status follows the chosen type (GraphQL over HTTP): a validation
// failure is 400 as application/graphql-response+json and 200 as application/json.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { negotiateMediaType, responseMediaTypes } from "../src/server/content-negotiation.ts";
import { createApiFixture, type ApiFixture } from "./support/api.ts";
import { openEventStream } from "./support/live.ts";

const json = "application/json";
const graphqlJson = "application/graphql-response+json";
const eventStream = "text/event-stream";

describe("negotiateMediaType", () => {
  const cases: [string | null, string | null][] = [
    [null, json],
    ["", json],
    ["*/*", json],
    ["application/*", json],
    [graphqlJson, graphqlJson],
    [`${graphqlJson}, ${json}`, graphqlJson],
    [`${json}, ${graphqlJson}`, json],
    [`${graphqlJson};q=0, ${json}`, json],
    [`${graphqlJson};q=0.1, ${json};q=1`, json],
    [`${json};q=0, ${graphqlJson}`, graphqlJson],
    [`${json};q=0.5, ${graphqlJson};q=0.9`, graphqlJson],
    [`*/*;q=0.1, ${graphqlJson}`, graphqlJson],
    // A more specific range decides its type's q, whatever a wildcard says.
    [`${json};q=0, */*`, graphqlJson],
    [`application/*;q=0, ${graphqlJson};q=0.2`, graphqlJson],
    ["application/*;q=0", null],
    [`${json};q=0, ${graphqlJson};q=0`, null],
    ["text/html", null],
    ["text/html, image/png;q=0.5", null],
    // Malformed q-values make their range unusable; the rest of the header still counts.
    [`${graphqlJson};q=2, ${json};q=0.5`, json],
    [`${graphqlJson};q=abc`, json],
    ["APPLICATION/JSON; Q=0.5", json],
  ];
  for (const [accept, expected] of cases) {
    it(`${JSON.stringify(accept)} -> ${expected}`, () => {
      expect(negotiateMediaType(accept, responseMediaTypes)).toBe(expected);
    });
  }
});

let fixture: ApiFixture;

beforeAll(async () => {
  fixture = await createApiFixture();
});

afterAll(async () => {
  await fixture?.drop();
});

async function send(accept: string, query = "{ noSuchField }") {
  const response = await fixture.gateway.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept, authorization: `Bearer ${fixture.key}` },
    body: JSON.stringify({ query }),
  });
  return {
    status: response.status,
    type: response.headers.get("content-type")?.split(";")[0],
    body: (await response.json()) as any,
  };
}

describe("the gateway", () => {
  it("answers in the negotiated media type, with that type's status", async () => {
    expect(await send(`${graphqlJson};q=0, ${json}`)).toMatchObject({ status: 200, type: json });
    expect(await send(`${graphqlJson};q=0.1, ${json};q=1`)).toMatchObject({ status: 200, type: json });
    expect(await send(`${json};q=0, ${graphqlJson}`)).toMatchObject({ status: 400, type: graphqlJson });
    expect(await send("*/*", "{ apiVersion }")).toMatchObject({ status: 200, type: json });
  });

  it("answers 406 NOT_ACCEPTABLE, in JSON, when nothing it can send is acceptable", async () => {
    for (const accept of ["text/html;q=0.9, image/png", `${json};q=0, ${graphqlJson};q=0`]) {
      const result = await send(accept, "{ apiVersion }");
      expect(result.status).toBe(406);
      expect(result.type).toBe(json);
      expect(result.body.errors?.[0]?.extensions?.code).toBe("NOT_ACCEPTABLE");
      expect(result.body.errors?.[0]?.extensions?.acceptedMediaTypes).toEqual([json, graphqlJson, eventStream]);
      expect(result.body.data).toBeUndefined();
    }
    const czech = await fixture.gateway.fetch("http://gateway.test/graphql", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "text/html",
        "accept-language": "cs",
        authorization: `Bearer ${fixture.key}`,
      },
      body: JSON.stringify({ query: "{ apiVersion }" }),
    });
    expect(czech.status).toBe(406);
    expect(((await czech.json()) as { errors: { message: string }[] }).errors[0]?.message).toBe(
      "Žádný z typů médií v hlavičce Accept API neumí poslat; přijměte application/json nebo application/graphql-response+json, případně text/event-stream (ten potřebuje odběr).",
    );
  });

  it("answers a subscription that may not be a stream 406 NOT_ACCEPTABLE with a body naming the stream types, by POST and GET", async () => {
    const subscription = 'subscription { accountBalanceChanged(accountId: "x") { sequence } }';
    const requests: [string, () => Promise<Response> | Response][] = [
      [
        "POST",
        () =>
          fixture.gateway.fetch("http://gateway.test/graphql", {
            method: "POST",
            headers: { "content-type": "application/json", accept: json, authorization: `Bearer ${fixture.key}` },
            body: JSON.stringify({ query: subscription }),
          }),
      ],
      [
        "GET",
        () =>
          fixture.gateway.fetch(`http://gateway.test/graphql?query=${encodeURIComponent(subscription)}`, {
            headers: {
              accept: `${graphqlJson}, ${json};q=0.5`,
              "graphql-require-preflight": "1",
              authorization: `Bearer ${fixture.key}`,
            },
          }),
      ],
    ];
    for (const [method, request] of requests) {
      const response = await request();
      expect(response.status, method).toBe(406);
      expect(response.headers.get("content-type"), method).toMatch(/^application\/(graphql-response\+)?json/);
      const body = (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: any }[] };
      expect(
        body.errors?.map((error) => error.extensions?.code),
        method,
      ).toEqual(["NOT_ACCEPTABLE"]);
      expect(body.errors?.[0]?.extensions?.acceptedMediaTypes, method).toEqual([eventStream]);
      expect(body.errors?.[0]?.message, method).toBe(
        "A subscription is answered as a stream of events, and none of the media types in Accept is one; accept text/event-stream.",
      );
    }
    const czech = await fixture.gateway.fetch("http://gateway.test/graphql", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: json,
        "accept-language": "cs",
        authorization: `Bearer ${fixture.key}`,
      },
      body: JSON.stringify({ query: subscription }),
    });
    expect(czech.status).toBe(406);
    expect(((await czech.json()) as { errors: { message: string }[] }).errors[0]?.message).toBe(
      "Odběr se posílá jako proud událostí a žádný z typů médií v hlavičce Accept mu neodpovídá; přijměte text/event-stream.",
    );
  });

  // Subscriptions are served as Server-Sent Events only: every 406 has a JSON body naming exactly what works, and
  // never multipart/mixed, which Yoga does not serve a subscription as (it used to end in an empty 406).
  it("serves a subscription as text/event-stream, and refuses any other Accept with a body naming it", async () => {
    const customer = await fixture.createCustomer("CUST-NEGOTIATION");
    const account = await fixture.openAccount(customer);
    const query = "subscription ($a: ID!) { accountBalanceChanged(accountId: $a) { sequence } }";
    const variables = { a: account };
    const subscribe = (accept: string) =>
      fixture.gateway.fetch("http://gateway.test/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", accept, authorization: `Bearer ${fixture.key}` },
        body: JSON.stringify({ query, variables }),
      });
    const refusals: [string, string[]][] = [
      // Refused before the request is known to be a subscription: the types any request may be answered with.
      ["multipart/mixed", [json, graphqlJson, eventStream]],
      ["multipart/mixed;deferSpec=20220824", [json, graphqlJson, eventStream]],
      [`multipart/mixed, ${json}`, [eventStream]],
      [`${eventStream};q=0, ${json}`, [eventStream]],
      [`${eventStream};q=0, */*`, [eventStream]],
    ];
    for (const [accept, accepted] of refusals) {
      const response = await subscribe(accept);
      expect(response.status, accept).toBe(406);
      expect(response.headers.get("content-type"), accept).toMatch(/^application\/json/);
      const body = (await response.json()) as { errors?: { message: string; extensions?: any }[] };
      expect(body.errors?.[0]?.extensions?.code, accept).toBe("NOT_ACCEPTABLE");
      expect(body.errors?.[0]?.extensions?.acceptedMediaTypes, accept).toEqual(accepted);
      expect(body.errors?.[0]?.message, accept).not.toContain("multipart");
    }
    for (const accept of ["*/*", `multipart/mixed, ${eventStream};q=0.5`, `${json};q=0.5, ${eventStream}`]) {
      const stream = await openEventStream(fixture.gateway, query, variables, fixture.key, { accept });
      expect(stream.status, accept).toBe(200);
      expect(stream.contentType, accept).toMatch(/^text\/event-stream/);
      await stream.close();
    }
  });

  it("refuses before anything runs, so a refused mutation writes nothing", async () => {
    const before = await fixture.snapshot();
    const result = await send("text/html", 'mutation { createStore(input: { name: "Never" }) { store { id } } }');
    expect(result.status).toBe(406);
    expect(await fixture.snapshot()).toBe(before);
  });
});
