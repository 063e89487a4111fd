// Prometheus metrics at /metrics: GraphQL phases and errors (Yoga's Prometheus plugin) plus HTTP request
// counts and durations for every path, and the number of requests in flight.
//
// Label values must come from small, fixed sets, or the metrics store grows with every new value: the
// HTTP path is one of the gateway's own endpoints or "other", the method one of a few, and operation names
// (chosen freely by clients) are left out. Tenants and API keys never appear in metrics.
import { usePrometheus } from "@graphql-yoga/plugin-prometheus";
import type { Plugin } from "graphql-yoga";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { acceptedAt } from "./accept-time.ts";

export const metricsEndpoint = "/metrics";

const knownMethods = new Set(["GET", "HEAD", "POST", "OPTIONS"]);

export interface MetricsOptions {
  /** The paths reported as they are; every other path is reported as "other". */
  routes: readonly string[];
  /** Requests being served right now (from admission control). */
  inFlight: () => number;
}

export function useMetrics(options: MetricsOptions): { plugins: Plugin[]; registry: Registry } {
  // A registry per gateway rather than prom-client's global one, so that several gateways in one process
  // (tests) do not register the same metric twice.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const routes = new Set(options.routes);
  const labelNames = ["method", "route", "status"] as const;
  const requests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests answered, by method, route and status.",
    labelNames,
    registers: [registry],
  });
  const durations = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time from receiving an HTTP request to having its response, by method, route and status.",
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const totalDurations = new Histogram({
    name: "http_request_total_duration_seconds",
    help:
      "Time from accepting an HTTP request (its connection's accept, for a connection's first request) to having " +
      "its response, by method, route and status: http_request_duration_seconds plus the time the request " +
      "waited before the gateway started on it.",
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  new Gauge({
    name: "http_requests_in_flight",
    help: "HTTP requests being served (MAX_IN_FLIGHT_REQUESTS bounds it).",
    registers: [registry],
    collect() {
      this.set(options.inFlight());
    },
  });

  const started = new WeakMap<Request, number>();
  const httpMetrics: Plugin = {
    onRequest({ request }) {
      started.set(request, performance.now());
    },
    onResponse({ request, response, serverContext }) {
      const start = started.get(request);
      if (start === undefined) return;
      const path = new URL(request.url, "http://gateway.invalid").pathname;
      const labels = {
        method: knownMethods.has(request.method) ? request.method : "other",
        route: routes.has(path) ? path : "other",
        status: String(response.status),
      };
      requests.inc(labels);
      const now = performance.now();
      durations.observe(labels, (now - start) / 1000);
      // Without a node:http accept time (a test's in-process fetch) the two measures are the same.
      totalDurations.observe(labels, (now - Math.min(start, acceptedAt(serverContext) ?? start)) / 1000);
    },
  };

  const graphqlMetrics = usePrometheus({
    registry,
    endpoint: metricsEndpoint,
    skipIntrospection: true,
    // Operation names are chosen by clients: unbounded label values.
    labels: { operationName: false },
    metrics: {
      // Replaced by the HTTP metrics above, which also cover refused and non-GraphQL requests, and whose
      // labels hold no URL (the plugin's would include query strings).
      graphql_yoga_http_duration: false,
      // A summary computes quantiles in every process at every observation, and summaries of several
      // instances cannot be combined; graphql_envelop_request_duration (a histogram) answers the same.
      graphql_envelop_request_time_summary: false,
      // Walks every operation's document against the schema to count deprecated fields; the schema has
      // none (schema.graphql). Turn it on when a field is deprecated.
      graphql_envelop_deprecated_field: false,
    },
  }) as Plugin;

  return { plugins: [httpMetrics, graphqlMetrics], registry };
}
