import type { ServiceMetrics } from "../metrics/service-metrics.js";

/**
 * What a client of the RPC port may hold and for how long (README "Slow and idle clients"). Every
 * bound is on a client that has not yet finished saying something; none is on a connection that is
 * merely idle between calls, so long-lived gRPC connections (and their keepalive PINGs) stay up.
 */
export interface ConnectionLimits {
  /** From accept to the first bytes, and for HTTP/2 to the whole client preface (magic and SETTINGS). */
  firstBytesTimeoutMs: number;
  /**
   * HTTP/1.1: from the first bytes to a request's complete headers. On a kept-alive connection the
   * next request's headers are due within keepAliveTimeout plus this after the previous response.
   */
  headersTimeoutMs: number;
  /** From a request's headers to the end of its body (HTTP/1.1) or of its stream's request half (HTTP/2). */
  requestBodyTimeoutMs: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS announced to HTTP/2 clients; more streams are refused by the protocol. */
  maxConcurrentStreams: number;
  /** Open connections per instance; the next one is closed as soon as it is accepted. */
  maxConnections: number;
}

export type CutReason = "first_bytes_timeout" | "headers_timeout" | "request_body_timeout" | "over_capacity";

export type Protocol = "pending" | "http1" | "http2";

/** The series the port's guards report to (ServiceMetrics has them). */
export type ConnectionMetrics = Pick<
  ServiceMetrics,
  "connectionsAccepted" | "connectionsOpen" | "connectionsCut" | "streamsCut"
>;

/** The limits from a service's configuration (services/shared/config/common.ts). */
export function connectionLimitsFrom(config: {
  FIRST_BYTES_TIMEOUT: number;
  HTTP1_HEADERS_TIMEOUT: number;
  REQUEST_BODY_TIMEOUT: number;
  HTTP2_MAX_CONCURRENT_STREAMS: number;
  MAX_CONNECTIONS: number;
}): ConnectionLimits {
  return {
    firstBytesTimeoutMs: config.FIRST_BYTES_TIMEOUT,
    headersTimeoutMs: config.HTTP1_HEADERS_TIMEOUT,
    requestBodyTimeoutMs: config.REQUEST_BODY_TIMEOUT,
    maxConcurrentStreams: config.HTTP2_MAX_CONCURRENT_STREAMS,
    maxConnections: config.MAX_CONNECTIONS,
  };
}
