// The media type of a GraphQL response, chosen from the request's Accept header as RFC 9110 (section 12.5.1)
// says: q-values count, `q=0` means "not acceptable", the most specific matching range decides a type's q,
// the highest q wins, and ties go to the range the client listed first, then to the server's preference.
// When nothing the server can send is acceptable, the answer is 406 with a JSON body and the code
// NOT_ACCEPTABLE, rather than a media type the client refused.
//
// Yoga's own choice ignores q-values (it reads the types in order), so a client that refused
// `application/graphql-response+json` with `q=0` still got it, with status 400 on a validation error.
import { GraphQLError } from "graphql";
import { isAsyncIterable, type Plugin, processRegularResult } from "graphql-yoga";
import { translateRefusal } from "../i18n/refusal-messages.ts";
import { requestLanguage } from "./guards/refusal.ts";

/** What the gateway can answer with, in its order of preference on a tie (plain JSON for `*\/*`, as curl sends). */
export const responseMediaTypes = ["application/json", "application/graphql-response+json"] as const;

interface MediaRange {
  type: string;
  subtype: string;
  /** Weight in thousandths, so that comparisons are exact. */
  weight: number;
  index: number;
}

function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  header.split(",").forEach((part, index) => {
    const [range, ...parameters] = part.split(";").map((piece) => piece.trim());
    const match = /^([a-z0-9!#$%&'*+.^_`|~-]+)\/([a-z0-9!#$%&'*+.^_`|~-]+)$/i.exec(range ?? "");
    if (!match) return;
    let weight = 1000;
    for (const parameter of parameters) {
      const [name, value] = parameter.split("=").map((piece) => piece.trim());
      if (name?.toLowerCase() !== "q") continue;
      // RFC 9110's qvalue: 0 to 1 with at most three decimals; anything else makes the range unusable.
      if (!value || !/^(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$/.test(value)) return;
      weight = Math.round(Number(value) * 1000);
    }
    const [, type = "", subtype = ""] = match.map((part) => part?.toLowerCase());
    // "*/json" is not a media range.
    if (type === "*" && subtype !== "*") return;
    ranges.push({ type, subtype, weight, index });
  });
  return ranges;
}

/**
 * The offered media type to answer with, or null when none is acceptable. A missing or empty header accepts
 * anything (RFC 9110), and then the first offered type is taken.
 */
export function negotiateMediaType(accept: string | null | undefined, offered: readonly string[]): string | null {
  if (!accept || accept.trim() === "") return offered[0] ?? null;
  const ranges = parseAccept(accept);
  // A header of nothing but malformed parts says nothing usable: treat it like no header at all.
  if (ranges.length === 0) return offered[0] ?? null;
  let best: { type: string; weight: number; index: number; preference: number } | null = null;
  offered.forEach((mediaType, preference) => {
    const [type, subtype] = mediaType.split("/") as [string, string];
    // The most specific range that matches decides this type's weight.
    let match: { range: MediaRange; specificity: number } | null = null;
    for (const range of ranges) {
      const specificity =
        range.type === type && range.subtype === subtype
          ? 2
          : range.type === type && range.subtype === "*"
            ? 1
            : range.type === "*"
              ? 0
              : -1;
      if (specificity < 0) continue;
      if (
        !match ||
        specificity > match.specificity ||
        (specificity === match.specificity && range.weight > match.range.weight)
      ) {
        match = { range, specificity };
      }
    }
    if (!match || match.range.weight === 0) return;
    const candidate = { type: mediaType, weight: match.range.weight, index: match.range.index, preference };
    if (
      !best ||
      candidate.weight > best.weight ||
      (candidate.weight === best.weight &&
        (candidate.index < best.index || (candidate.index === best.index && candidate.preference < best.preference)))
    ) {
      best = candidate;
    }
  });
  return (best as { type: string } | null)?.type ?? null;
}

/**
 * Server-Sent Events, which subscriptions are served as (and which Yoga also uses to answer a query or
 * mutation sent by an SSE client). Yoga produces that answer itself; this plugin only lets it through.
 */
export const eventStreamMediaType = "text/event-stream";

/**
 * What a subscription can be answered with: Server-Sent Events only. Yoga 5 serves subscriptions over
 * text/event-stream alone (multipart/mixed only for incremental delivery, which the API does not use), so an
 * Accept of multipart/mixed used to pass this check and end in Yoga's empty 406. Multipart subscriptions are
 * also a protocol of their own in Apollo's clients (heartbeats, wrapped payloads) that Yoga's multipart parts are
 * not, so the gateway does not claim them.
 */
export const streamMediaTypes = [eventStreamMediaType] as const;

/**
 * What a request is accepted with before it is known to be a subscription: the JSON types, and Server-Sent
 * Events, which Yoga answers any operation with and which a subscription needs.
 */
export const acceptableMediaTypes = [...responseMediaTypes, eventStreamMediaType] as const;

/**
 * The answer when nothing the gateway can send is acceptable, in the language of Accept-Language (it is given
 * before the key is read, so a tenant's default language cannot apply).
 */
function notAcceptable(fetchAPI: { Response: typeof Response }, request: Request): Response {
  const english = `None of the media types in Accept is one this API can answer with; accept ${responseMediaTypes.join(" or ")}, or ${eventStreamMediaType} (which a subscription needs).`;
  const message = translateRefusal("NOT_ACCEPTABLE", english, requestLanguage(request), {
    accepted: acceptableMediaTypes.join(", "),
  });
  return new fetchAPI.Response(
    JSON.stringify({
      errors: [{ message, extensions: { code: "NOT_ACCEPTABLE", acceptedMediaTypes: acceptableMediaTypes } }],
    }),
    {
      status: 406,
      headers: {
        "content-type": "application/json; charset=utf-8",
        // Not required by RFC 9110's 406, but what Yoga sends too: what the server could have answered with.
        accept: acceptableMediaTypes.join(", "),
      },
    },
  );
}

/**
 * Refuses a GraphQL request whose Accept header allows none of the gateway's media types with 406 before
 * anything runs (a mutation must not write and then be answered 406), and answers every other result in the
 * negotiated type. The GraphiQL page (a GET asking for HTML) is answered before either hook.
 */
export function useContentNegotiation(): Plugin {
  return {
    // A subscription is answered as a stream, which an Accept header of JSON types alone refuses. Refused here,
    // before its resolver subscribes (and takes one of the instance's and the key's subscription places),
    // with a body that says what to accept; Yoga's own refusal would come after it, as an empty 406.
    onSubscribe({ args, setResultAndStopExecution }) {
      const request = (args.contextValue as { request?: Request }).request;
      if (!request || negotiateMediaType(request.headers.get("accept"), streamMediaTypes) !== null) return;
      setResultAndStopExecution({
        errors: [
          new GraphQLError(
            `A subscription is answered as a stream of events, and none of the media types in Accept is one; accept ${streamMediaTypes.join(" or ")}.`,
            {
              extensions: {
                code: "NOT_ACCEPTABLE",
                acceptedMediaTypes: streamMediaTypes,
                http: { status: 406, headers: { accept: streamMediaTypes.join(", ") } },
              },
            },
          ),
        ],
      });
    },
    onRequestParse({ request, fetchAPI, endResponse }) {
      if (negotiateMediaType(request.headers.get("accept"), acceptableMediaTypes) === null)
        endResponse(notAcceptable(fetchAPI, request));
    },
    onResultProcess({ request, result, setResultProcessor }) {
      // Streams (subscriptions) keep Yoga's own handling.
      if (isAsyncIterable(result)) return;
      const accept = request.headers.get("accept");
      const chosen = negotiateMediaType(accept, responseMediaTypes);
      // An SSE client (a subscription refused before its stream opened, or a query sent the same way) gets
      // Yoga's event-stream answer.
      if (!chosen && negotiateMediaType(accept, [eventStreamMediaType])) return;
      if (chosen) setResultProcessor(processRegularResult, chosen);
      else setResultProcessor((_result, fetchAPI) => notAcceptable(fetchAPI, request), "application/json");
    },
  };
}
