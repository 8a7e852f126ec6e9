// gRPC health checking (grpc.health.v1.Health), as Kubernetes probes, load balancers and
// grpc-health-probe expect it. The status holder is separate from the routes so that readiness
// checks (database, NATS) can flip it without knowing anything about gRPC.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus as WireStatus,
  HealthCheckResponseSchema,
  type HealthCheckResponse,
} from "../../../gen/grpc/health/v1/health_pb.js";

export type ServingStatus = "SERVING" | "NOT_SERVING";

export type HealthListener = (service: string, status: ServingStatus) => void;

export interface HealthStatus {
  /** Records a status; "" is the whole server. Listeners hear only real changes. */
  set(service: string, status: ServingStatus): void;
  /** The recorded status, or undefined for a service nobody has set. */
  get(service: string): ServingStatus | undefined;
  /** Every service that has a status, with it. */
  all(): ReadonlyMap<string, ServingStatus>;
  /** Calls the listener after each change; returns the function that unsubscribes it. */
  subscribe(listener: HealthListener): () => void;
  /**
   * Marks every service NOT_SERVING and ignores later set() calls, so that a periodic
   * dependency check cannot report a draining server as ready again.
   */
  shutdown(): void;
}

/**
 * The server itself ("") starts SERVING, as in grpc-go, unless `initial` says otherwise;
 * pass `{ "": "NOT_SERVING" }` to stay unready until the first dependency check passes.
 */
export function createHealthStatus(initial: Readonly<Record<string, ServingStatus>> = { "": "SERVING" }): HealthStatus {
  const statuses = new Map<string, ServingStatus>(Object.entries(initial));
  const listeners = new Set<HealthListener>();
  let shuttingDown = false;

  const record = (service: string, status: ServingStatus): void => {
    if (statuses.get(service) === status) return;
    statuses.set(service, status);
    for (const listener of [...listeners]) listener(service, status);
  };

  return {
    set(service, status) {
      if (!shuttingDown) record(service, status);
    },
    get: (service) => statuses.get(service),
    all: () => new Map(statuses),
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    shutdown() {
      shuttingDown = true;
      for (const service of [...statuses.keys()]) record(service, "NOT_SERVING");
    },
  };
}

export function registerHealthService(router: ConnectRouter, health: HealthStatus): void {
  router.service(Health, {
    check(request) {
      const status = health.get(request.service);
      // The health spec answers an unknown service with NOT_FOUND, not with SERVICE_UNKNOWN.
      if (status === undefined) {
        throw new ConnectError(`unknown service "${request.service}"`, Code.NotFound);
      }
      return { status: WireStatus[status] };
    },
    list() {
      const statuses: Record<string, HealthCheckResponse> = {};
      for (const [service, status] of health.all()) statuses[service] = response(status);
      return { statuses };
    },
    async *watch(request, context) {
      for await (const status of statusChanges(health, request.service, context.signal)) {
        yield response(status);
      }
    },
  });
}

function response(status: ServingStatus | undefined): HealthCheckResponse {
  // Watch reports a service nobody has set as SERVICE_UNKNOWN and keeps the stream open.
  return create(HealthCheckResponseSchema, {
    status: status === undefined ? WireStatus.SERVICE_UNKNOWN : WireStatus[status],
  });
}

/**
 * The current status of one service, then each change of it, until the signal aborts.
 * Changes that arrive faster than the client reads are coalesced into the latest one, and an
 * unchanged status is never sent twice, as the health spec asks of Watch.
 */
async function* statusChanges(
  health: HealthStatus,
  service: string,
  signal: AbortSignal,
): AsyncGenerator<ServingStatus | undefined> {
  let changed = true;
  let wake: (() => void) | undefined;
  // Subscribe before the first read so that no change can fall between the two.
  const unsubscribe = health.subscribe((name) => {
    if (name !== service) return;
    changed = true;
    wake?.();
  });
  const onAbort = (): void => wake?.();
  signal.addEventListener("abort", onAbort);
  try {
    let sent: { status: ServingStatus | undefined } | undefined;
    while (!signal.aborted) {
      if (!changed) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      changed = false;
      const status = health.get(service);
      if (sent !== undefined && sent.status === status) continue;
      sent = { status };
      yield status;
    }
  } finally {
    unsubscribe();
    signal.removeEventListener("abort", onAbort);
  }
}
