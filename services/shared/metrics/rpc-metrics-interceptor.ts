import { Code, ConnectError, type Interceptor, type StreamResponse } from "@connectrpc/connect";
import type { ServiceMetrics } from "./service-metrics.js";

/**
 * Counts every call by method and final gRPC code, times it, and counts rate-limit refusals.
 * It sits outermost in the chain, so it sees the code the client sees (after error mapping) and the
 * whole time spent in the server. A streaming call is recorded when its stream ends.
 */
export function createRpcMetricsInterceptor(metrics: ServiceMetrics): Interceptor {
  return (next) => async (request) => {
    const labels = { service: request.service.typeName, method: request.method.name };
    const stopTimer = metrics.rpcDuration.startTimer(labels);
    const record = (code: Code | "ok") => {
      stopTimer();
      metrics.rpcHandled.inc({ ...labels, code: code === "ok" ? "OK" : grpcCodeName(code) });
      if (code === Code.ResourceExhausted) metrics.rateLimitRefusals.inc({ method: labels.method });
    };
    let response;
    try {
      response = await next(request);
    } catch (error) {
      record(ConnectError.from(error).code);
      throw error;
    }
    if (!response.stream) {
      record("ok");
      return response;
    }
    return { ...response, message: recordWhenDone(response.message, record) } satisfies StreamResponse;
  };
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

/** Connect's Code.ResourceExhausted as gRPC and Prometheus users know it: RESOURCE_EXHAUSTED. */
function grpcCodeName(code: Code): string {
  return (Code[code] ?? `CODE_${code}`).replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
