import { credentials, Client, status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createHealthStatus,
  registerHealthService,
  type HealthStatus,
  type ServingStatus,
} from "../../services/shared/server/health.js";
import { grpcMethod, startH2cServer, type RunningServer } from "./grpc-test-kit.js";

const HEALTH_PROTO = "grpc/health/v1/health.proto";
interface CheckRequest {
  service: string;
}
interface CheckResponse {
  status: string;
}
interface ListResponse {
  statuses: Record<string, CheckResponse>;
}
const check = grpcMethod<CheckRequest, CheckResponse>(HEALTH_PROTO, "grpc.health.v1.Health", "Check");
const list = grpcMethod<object, ListResponse>(HEALTH_PROTO, "grpc.health.v1.Health", "List");
const watch = grpcMethod<CheckRequest, CheckResponse>(HEALTH_PROTO, "grpc.health.v1.Health", "Watch");

describe("health status holder", () => {
  it("starts with the server itself serving and knows no other service", () => {
    const health = createHealthStatus();
    expect(health.get("")).toBe("SERVING");
    expect(health.get("mintcoin.auth.v1.AuthService")).toBeUndefined();
  });

  it("tells listeners about changes only, not about repeated statuses", () => {
    const health = createHealthStatus({ "": "NOT_SERVING" });
    const heard: Array<[string, ServingStatus]> = [];
    const unsubscribe = health.subscribe((service, status) => heard.push([service, status]));
    health.set("", "SERVING");
    health.set("", "SERVING");
    health.set("db", "NOT_SERVING");
    unsubscribe();
    health.set("", "NOT_SERVING");
    expect(heard).toEqual([
      ["", "SERVING"],
      ["db", "NOT_SERVING"],
    ]);
  });

  it("after shutdown reports every service NOT_SERVING and ignores later checks", () => {
    const health = createHealthStatus({ "": "SERVING", "mintcoin.auth.v1.AuthService": "SERVING" });
    health.shutdown();
    health.set("", "SERVING");
    expect(Object.fromEntries(health.all())).toEqual({
      "": "NOT_SERVING",
      "mintcoin.auth.v1.AuthService": "NOT_SERVING",
    });
  });
});

describe("grpc.health.v1.Health over HTTP/2, called with grpc-js", () => {
  let server: RunningServer;
  let client: Client;
  let health: HealthStatus;
  let watchers = 0;

  beforeAll(async () => {
    const status = createHealthStatus();
    // Counts open Watch subscriptions, to prove that a departed client leaves none behind.
    health = {
      ...status,
      subscribe(listener) {
        watchers += 1;
        const unsubscribe = status.subscribe(listener);
        return () => {
          watchers -= 1;
          unsubscribe();
        };
      },
    };
    server = await startH2cServer((router) => registerHealthService(router, health));
    client = new Client(server.address, credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await server.close();
  });

  const callCheck = (service: string): Promise<CheckResponse> =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        check.path,
        check.requestSerialize,
        check.responseDeserialize,
        { service },
        (error: ServiceError | null, response?: CheckResponse) => (error ? reject(error) : resolve(response!)),
      );
    });

  /** Opens a Watch and returns a reader of its messages, one at a time. */
  const openWatch = (service: string) => {
    const call = client.makeServerStreamRequest(watch.path, watch.requestSerialize, watch.responseDeserialize, {
      service,
    });
    const received: string[] = [];
    const waiting: Array<() => void> = [];
    call.on("data", (message: CheckResponse) => {
      received.push(message.status);
      waiting.shift()?.();
    });
    call.on("error", () => undefined); // cancelling ends the call with CANCELLED
    return {
      call,
      received,
      async next(): Promise<string> {
        if (received.length === 0) await new Promise<void>((resolve) => waiting.push(resolve));
        return received.shift()!;
      },
    };
  };

  it("Check answers the overall status for the empty service name", async () => {
    await expect(callCheck("")).resolves.toEqual({ status: "SERVING" });
  });

  it("Check answers NOT_FOUND for a service it has no status for", async () => {
    await expect(callCheck("no.such.Service")).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND });
  });

  it("Check follows set() from a dependency check", async () => {
    health.set("mintcoin.auth.v1.AuthService", "NOT_SERVING");
    await expect(callCheck("mintcoin.auth.v1.AuthService")).resolves.toEqual({ status: "NOT_SERVING" });
    health.set("mintcoin.auth.v1.AuthService", "SERVING");
    await expect(callCheck("mintcoin.auth.v1.AuthService")).resolves.toEqual({ status: "SERVING" });
  });

  it("List answers every known service with its status", async () => {
    const response = await new Promise<ListResponse>((resolve, reject) => {
      client.makeUnaryRequest(
        list.path,
        list.requestSerialize,
        list.responseDeserialize,
        {},
        (error: ServiceError | null, value?: ListResponse) => (error ? reject(error) : resolve(value!)),
      );
    });
    expect(response.statuses).toEqual({
      "": { status: "SERVING" },
      "mintcoin.auth.v1.AuthService": { status: "SERVING" },
    });
  });

  it("Watch sends the current status, then each change, and no repeats", async () => {
    const watcher = openWatch("");
    expect(await watcher.next()).toBe("SERVING");
    health.set("", "NOT_SERVING");
    expect(await watcher.next()).toBe("NOT_SERVING");
    health.set("", "NOT_SERVING"); // no change: nothing is sent
    health.set("unrelated", "NOT_SERVING"); // another service: nothing is sent
    health.set("", "SERVING");
    expect(await watcher.next()).toBe("SERVING");
    expect(watcher.received).toEqual([]);
    watcher.call.cancel();
  });

  it("Watch of an unknown service sends SERVICE_UNKNOWN and stays open until it is known", async () => {
    const watcher = openWatch("mintcoin.user.v1.UserService");
    expect(await watcher.next()).toBe("SERVICE_UNKNOWN");
    health.set("mintcoin.user.v1.UserService", "SERVING");
    expect(await watcher.next()).toBe("SERVING");
    watcher.call.cancel();
  });

  it("Watch stops and unsubscribes when the client goes away", async () => {
    await expect.poll(() => watchers).toBe(0); // earlier tests' watches have ended
    const watcher = openWatch("");
    await watcher.next();
    expect(watchers).toBe(1);
    watcher.call.cancel();
    await expect.poll(() => watchers, { timeout: 2000 }).toBe(0);
  });
});
