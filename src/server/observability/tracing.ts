// OpenTelemetry tracing, on when TRACING=true: one span per GraphQL request (with its request id), one for
// parsing and one for validating its document, one for executing it (@envelop/opentelemetry), and one per
// SQL statement (src/db/traced-adapter.ts), all in one trace, sent over OTLP/HTTP.
//
// Nothing here runs when tracing is off: main.ts imports this module only then, the gateway installs no
// plugin and the database no wrapper, so a request costs exactly what it did before.
//
// What spans carry is chosen so that a trace store never holds secrets or personal data: no variables, no
// document text (an inline argument may be a customer's id or a note), no results, no SQL parameters, no
// headers, no query string. The request id joins a trace to the request's log line.
import { useOpenTelemetry } from "@envelop/opentelemetry";
import { context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import type { Plugin } from "graphql-yoga";

export const serviceName = "credit-ledger-gateway";
/** The span attribute that carries the request id of the request log (X-Request-Id). */
export const requestIdAttribute = "gateway.request_id";

export interface Tracing {
  /** The tracer the database's statements are traced with (`openDatabase({ tracer })`). */
  tracer: Tracer;
  /** The gateway's plugins: request, parse and validate spans, and @envelop/opentelemetry's execute span. */
  plugins(options: TracingPluginOptions): Plugin[];
  /** Sends the spans still buffered and stops; called at shutdown. */
  shutdown(): Promise<void>;
}

export interface TracingPluginOptions {
  graphqlEndpoint: string;
  /** The id the request log gives the request (src/server/observability/logging.ts). */
  requestId(request: Request): string | undefined;
}

export type TracingTarget =
  | { otlpTracesEndpoint: string }
  /** Tests: spans go to this exporter as soon as they end (InMemorySpanExporter). */
  | { exporter: SpanExporter };

let contextManagerRegistered = false;

export function startTracing(target: TracingTarget): Tracing {
  // Spans find their parent through the active context, which follows a request across awaits only with a
  // context manager. It is process-wide, as OpenTelemetry's API is; registering it twice would be refused.
  if (!contextManagerRegistered) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    contextManagerRegistered = true;
  }
  const processor: SpanProcessor =
    "exporter" in target
      ? new SimpleSpanProcessor({ exporter: target.exporter })
      : // Batched, so that a request never waits for the collector; the exporter reads the standard
        // OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_TRACES_HEADERS for authentication itself.
        new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: target.otlpTracesEndpoint }) });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer(serviceName);
  return {
    tracer,
    plugins: (options) => [useRequestSpans(tracer, options), useExecuteSpans(provider)],
    shutdown: () => provider.shutdown(),
  };
}

/** Runs `work` in a span that is active meanwhile, ending it when `work` returns or throws. */
function inSpan<T>(tracer: Tracer, name: string, work: () => T): T {
  return tracer.startActiveSpan(name, { kind: SpanKind.INTERNAL }, (span) => {
    try {
      return work();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

function useRequestSpans(tracer: Tracer, options: TracingPluginOptions): Plugin {
  const spans = new WeakMap<Request, Span>();
  return {
    instrumentation: {
      // The request's span is the active context for everything the request does, so that the statements
      // of authentication and of the context (which run before execution) belong to its trace too.
      request: ({ request }, wrapped) => {
        const path = new URL(request.url, "http://gateway.invalid").pathname;
        // Health checks and metrics scrapes would bury the traces worth reading.
        if (path !== options.graphqlEndpoint) return wrapped();
        const span = tracer.startSpan(`${request.method} ${path}`, {
          kind: SpanKind.SERVER,
          attributes: { "http.request.method": request.method, "url.path": path, "http.route": path },
        });
        spans.set(request, span);
        return context.with(trace.setSpan(context.active(), span), async () => {
          try {
            await wrapped();
          } catch (error) {
            span.setStatus({ code: SpanStatusCode.ERROR });
            throw error;
          } finally {
            span.end();
          }
        });
      },
      parse: (_payload, wrapped) => inSpan(tracer, "graphql.parse", wrapped),
      validate: (_payload, wrapped) => inSpan(tracer, "graphql.validate", wrapped),
    },
    // The request log's onRequest, before this plugin's, has given the request its id by now.
    onRequest({ request }) {
      const span = spans.get(request);
      const id = options.requestId(request);
      if (span && id) span.setAttribute(requestIdAttribute, id);
    },
    onResponse({ request, response }) {
      const span = spans.get(request);
      if (!span) return;
      span.setAttribute("http.response.status_code", response.status);
      if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    },
  };
}

function useExecuteSpans(provider: TracerProvider): Plugin {
  // Only the operation's name and type: no document, variables, result or per-resolver spans (which would
  // carry arguments), see the top of this file.
  return useOpenTelemetry(
    { document: false, variables: false, result: false, resolvers: false },
    provider,
    SpanKind.INTERNAL,
    {},
    serviceName,
  ) as Plugin;
}
