import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { DomainError } from "../errors/domain-errors.js";
import { domainErrorToConnectError } from "../errors/to-connect-error.js";
import { isDependencyUnavailable } from "../errors/unavailable.js";
import type { Logger } from "../logging.js";
import { type RequestInfo, requestInfoKey } from "./request-info.js";

/**
 * Logs every call once with its outcome, and echoes the request id so a client can quote it.
 * Successful calls log at debug: an identity service is on every request path, and a log line per
 * call is a cost operators choose with LOG_LEVEL.
 */
export function createLoggingInterceptor(logger: Logger): Interceptor {
  return (next) => async (request) => {
    const info = request.contextValues.get(requestInfoKey);
    const started = performance.now();
    try {
      const response = await next(request);
      response.header.set("x-request-id", info.requestId);
      if (logger.isLevelEnabled("debug")) logger.debug({ ...callFields(request, info, started), code: "ok" }, "rpc");
      return response;
    } catch (error) {
      const connectError = ConnectError.from(error);
      connectError.metadata.set("x-request-id", info.requestId);
      const level = connectError.code === Code.Internal || connectError.code === Code.Unavailable ? "error" : "info";
      logger[level]({ ...callFields(request, info, started), code: Code[connectError.code] }, "rpc failed");
      throw connectError;
    }
  };
}

/** What a call's log line says of it (a function, not a closure per call: most calls log nothing). */
function callFields(
  request: { method: { name: string }; service: { typeName: string } },
  info: RequestInfo,
  started: number,
) {
  return {
    requestId: info.requestId,
    method: request.method.name,
    service: request.service.typeName,
    ip: info.ip,
    ms: Math.round((performance.now() - started) * 10) / 10,
  };
}

/**
 * Turns what a handler throws into the right gRPC code: domain errors to their codes, an unreachable
 * database to UNAVAILABLE (retry), and anything else to INTERNAL without internals, logged with
 * its cause. Must sit inside the logging interceptor and outside everything else.
 */
export function createErrorInterceptor(logger: Logger): Interceptor {
  return (next) => async (request) => {
    try {
      return await next(request);
    } catch (error) {
      if (error instanceof ConnectError) throw error;
      if (error instanceof DomainError) throw domainErrorToConnectError(error);
      const requestId = request.contextValues.get(requestInfoKey).requestId;
      if (isDependencyUnavailable(error)) {
        logger.warn({ err: error, requestId, method: request.method.name }, "dependency unavailable");
        throw new ConnectError("the service is temporarily unavailable; retry shortly", Code.Unavailable);
      }
      logger.error({ err: error, requestId, method: request.method.name }, "unexpected failure");
      throw new ConnectError(`internal error (request id ${requestId})`, Code.Internal);
    }
  };
}
