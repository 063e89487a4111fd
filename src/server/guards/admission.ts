// Admission control: maintenance mode and load shedding.
//
// In maintenance every request except the operational endpoints (/health, /ready, /metrics) is answered
// 503 with Retry-After, so that clients back off instead of seeing half-working writes while the operator
// works on the database. The switch starts from MAINTENANCE_MODE and can be flipped at run time.
//
// Under overload, a process that accepts every request makes all of them slow (they queue for the same
// database connections) until clients time out and retry, which adds more load. Past
// MAX_IN_FLIGHT_REQUESTS the gateway therefore refuses new requests at once with 503 and Retry-After,
// keeps serving the ones it has at full speed, and lets a load balancer or the client's retry send the
// refused ones elsewhere or later.
import type { Plugin } from "graphql-yoga";
import { guardErrorCodes, refusalResponse } from "./refusal.ts";

export interface AdmissionOptions {
  maintenanceMode: boolean;
  /** Requests served at once before new ones are refused; 0 means no bound. */
  maxInFlightRequests: number;
  retryAfterSeconds: number;
}

export interface AdmissionControl {
  setMaintenanceMode(on: boolean): void;
  readonly maintenanceMode: boolean;
  /** Requests being served right now. */
  readonly inFlight: number;
}

export interface AdmissionGuard extends AdmissionControl {
  /** Builds the Yoga plugin; `exempt` names the paths that are always served. */
  plugin(exempt: ReadonlySet<string>): Plugin;
}

export function createAdmissionControl(options: AdmissionOptions): AdmissionGuard {
  let maintenance = options.maintenanceMode;
  let inFlight = 0;
  const retryAfter = { "retry-after": String(options.retryAfterSeconds) };
  const counted = new WeakSet<Request>();
  const release = (request: Request) => {
    if (counted.delete(request)) inFlight--;
  };

  return {
    setMaintenanceMode(on) {
      maintenance = on;
    },
    get maintenanceMode() {
      return maintenance;
    },
    get inFlight() {
      return inFlight;
    },
    plugin(exempt) {
      return {
        onRequest({ request, url, fetchAPI, endResponse, requestHandler, setRequestHandler }) {
          if (exempt.has(url.pathname)) return;
          if (maintenance) {
            endResponse(
              refusalResponse(
                fetchAPI,
                {
                  status: 503,
                  code: guardErrorCodes.maintenance,
                  message: "The service is down for maintenance; retry later.",
                  headers: retryAfter,
                },
                request,
              ),
            );
            return;
          }
          if (options.maxInFlightRequests > 0 && inFlight >= options.maxInFlightRequests) {
            endResponse(
              refusalResponse(
                fetchAPI,
                {
                  status: 503,
                  code: guardErrorCodes.overloaded,
                  message: "The service is busy; retry shortly.",
                  headers: retryAfter,
                },
                request,
              ),
            );
            return;
          }
          // Counted from admission until the response is ready. The count goes up at once, so that
          // requests arriving together cannot all pass the check before any of them is counted. It goes
          // down when the handler finishes, or, for a request a later guard refuses before the handler
          // runs, when that refusal is answered.
          inFlight++;
          counted.add(request);
          setRequestHandler(async (handled, serverContext) => {
            try {
              return await requestHandler(handled, serverContext);
            } finally {
              release(request);
            }
          });
        },
        onResponse({ request }) {
          release(request);
        },
      };
    },
  };
}
