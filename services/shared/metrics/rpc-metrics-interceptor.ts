import { Code, ConnectError, type Interceptor, type StreamResponse } from "@connectrpc/connect";
import { RetryInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import type { ServiceMetrics } from "./service-metrics.js";

/**
 * Counts every call by method and final gRPC code, times it, and counts rate-limit refusals: a
 * RESOURCE_EXHAUSTED that carries RetryInfo (what a RateLimitedError becomes), not one for an
 * oversized message.
 * It sits outermost in the chain, so it sees the code the client sees (after error mapping) and the
 * whole time spent in the server. A streaming call is recorded when its stream ends.
 */
export function createRpcMetricsInterceptor(metrics: ServiceMetrics): Interceptor {
  // The label objects of a method (and of each of its codes) are made once, not per call.
  const labelsByMethod = new WeakMap<object, MethodLabels>();
  const labelsOf = (service: string, method: object, name: string): MethodLabels => {
    let labels = labelsByMethod.get(method);
    if (labels === undefined) {
      labels = { base: { service, method: name }, byCode: new Map() };
      labelsByMethod.set(method, labels);
    }
    return labels;
  };
  const record = (labels: MethodLabels, started: number, code: Code | "ok", rateLimited = false) => {
    metrics.rpcDuration.observe(labels.base, (performance.now() - started) / 1000);
    let handled = labels.byCode.get(code);
    if (handled === undefined) {
      handled = { ...labels.base, code: code === "ok" ? "OK" : grpcCodeName(code) };
      labels.byCode.set(code, handled);
    }
    metrics.rpcHandled.inc(handled);
    if (rateLimited) metrics.rateLimitRefusals.inc({ method: labels.base.method });
  };
  return (next) => async (request) => {
    const labels = labelsOf(request.service.typeName, request.method, request.method.name);
    // performance.now() rather than prom-client's startTimer(): no hrtime arrays, closures and label
    // copies per call, on the path every RPC takes.
    const started = performance.now();
    let response: Awaited<ReturnType<typeof next>>;
    try {
      response = await next(request);
    } catch (error) {
      const connectError = ConnectError.from(error);
      record(labels, started, connectError.code, isRateLimitRefusal(connectError));
      throw error;
    }
    if (!response.stream) {
      record(labels, started, "ok");
      return response;
    }
    return {
      ...response,
      message: recordWhenDone(response.message, (code) => record(labels, started, code)),
    } satisfies StreamResponse;
  };
}

interface MethodLabels {
  base: { service: string; method: string };
  byCode: Map<Code | "ok", { service: string; method: string; code: string }>;
}

async function* recordWhenDone<T>(messages: AsyncIterable<T>, record: (code: Code | "ok") => void): AsyncIterable<T> {
  let outcome: Code | "ok" = Code.Canceled; // the client went away before the stream ended
  try {
    yield* messages;
    outcome = "ok";
  } catch (error) {
    outcome = ConnectError.from(error).code;
    throw error;
  } finally {
    record(outcome);
  }
}

function isRateLimitRefusal(error: ConnectError): boolean {
  return error.code === Code.ResourceExhausted && error.findDetails(RetryInfoSchema).length > 0;
}

/** Connect's Code.ResourceExhausted as gRPC and Prometheus users know it: RESOURCE_EXHAUSTED. */
function grpcCodeName(code: Code): string {
  return (Code[code] ?? `CODE_${code}`).replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
