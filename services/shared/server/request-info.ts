import { randomUUID } from "node:crypto";
import { isIPv4 } from "node:net";
import type http from "node:http";
import type http2 from "node:http2";
import { createContextKey } from "@connectrpc/connect";

/** Who is calling, as far as the transport can tell. Read in handlers with `ctx.values.get(requestInfoKey)`. */
export interface RequestInfo {
  requestId: string;
  ip: string;
  userAgent: string;
}

export const requestInfoKey = createContextKey<RequestInfo>(
  { requestId: "", ip: "", userAgent: "" },
  { description: "transport facts about the current request" },
);

const requestIdPattern = /^[A-Za-z0-9._-]{8,64}$/;

/**
 * Reads the request's facts. `X-Forwarded-For` is believed only when the connection comes from one of
 * `trustedProxies`, and then only the hop that proxy added (the right-most untrusted address), so a
 * client cannot pick its own IP to dodge per-IP limits.
 */
export function readRequestInfo(
  request: http.IncomingMessage | http2.Http2ServerRequest,
  trustedProxies: ReadonlySet<string>,
): RequestInfo {
  const header = (name: string) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  return requestInfoFrom(request.socket?.remoteAddress ?? "", header, trustedProxies);
}

/** The same facts from any transport: the peer's address and a header reader (grpc-js metadata). */
export function requestInfoFrom(
  peerAddress: string,
  header: (name: string) => string | undefined,
  trustedProxies: ReadonlySet<string>,
): RequestInfo {
  const suppliedId = header("x-request-id");
  return {
    requestId: suppliedId && requestIdPattern.test(suppliedId) ? suppliedId : randomUUID(),
    ip: clientIp(normalizeIp(peerAddress), header("x-forwarded-for"), trustedProxies),
    userAgent: (header("user-agent") ?? "").slice(0, 512),
  };
}

function clientIp(peer: string, forwardedFor: string | undefined, trustedProxies: ReadonlySet<string>): string {
  if (!forwardedFor || !trustedProxies.has(peer)) return peer;
  const hops = forwardedFor
    .split(",")
    .map((hop) => normalizeIp(hop.trim()))
    .filter(Boolean);
  for (const hop of hops.toReversed()) {
    if (!trustedProxies.has(hop)) return hop;
  }
  return hops[0] ?? peer;
}

/** `::ffff:192.0.2.1` (how Node shows IPv4 peers on a dual-stack socket) as `192.0.2.1`; anything else as is. */
function normalizeIp(ip: string): string {
  const mapped = ip.toLowerCase().startsWith("::ffff:") ? ip.slice("::ffff:".length) : "";
  return isIPv4(mapped) ? mapped : ip;
}
