import { randomUUID } from "node:crypto";
import { isIP, isIPv4 } from "node:net";
import type http from "node:http";
import type http2 from "node:http2";
import { createContextKey } from "@connectrpc/connect";
import type { TrustedProxies } from "../trusted-proxies.js";

/** Who is calling, as far as the transport can tell. Read in handlers with `ctx.values.get(requestInfoKey)`. */
export interface RequestInfo {
  requestId: string;
  /** A plain IP address (no port, no brackets), or "" when the transport cannot tell. */
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
 * client cannot pick its own IP to dodge per-IP limits. A hop is read as an IP address, with a port
 * or IPv6 brackets a proxy may add (`192.0.2.1:5000`, `[2001:db8::1]:5000`) taken off: kept, every
 * source port would count as a new network, for the per-IP limits and for the new-network signal.
 * A hop that is no IP address at all (`unknown`, an obfuscated RFC 7239 name) is not believed: the
 * peer's address stands instead.
 */
export function readRequestInfo(
  request: http.IncomingMessage | http2.Http2ServerRequest,
  trustedProxies: TrustedProxies,
): RequestInfo {
  const header = (name: string) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  return requestInfoFrom(request.socket?.remoteAddress ?? "", header, trustedProxies);
}

/**
 * The same facts from any transport: the peer's address as the socket gives it (a bare IP) and a
 * header reader (grpc-js metadata).
 */
export function requestInfoFrom(
  peerAddress: string,
  header: (name: string) => string | undefined,
  trustedProxies: TrustedProxies,
): RequestInfo {
  return requestInfoOf(peerAddressOf(socketPeers, peerAddress, addressOf), header, trustedProxies);
}

/** The same for a grpc-js call, from its getPeer() string. */
export function requestInfoFromGrpcJsPeer(
  peer: string,
  header: (name: string) => string | undefined,
  trustedProxies: TrustedProxies,
): RequestInfo {
  return requestInfoOf(peerAddressOf(grpcJsPeers, peer, grpcJsPeerIp), header, trustedProxies);
}

function requestInfoOf(
  peerIp: string,
  header: (name: string) => string | undefined,
  trustedProxies: TrustedProxies,
): RequestInfo {
  const suppliedId = header("x-request-id");
  return {
    requestId: suppliedId && requestIdPattern.test(suppliedId) ? suppliedId : randomUUID(),
    ip: clientIp(peerIp, header("x-forwarded-for"), trustedProxies),
    userAgent: (header("user-agent") ?? "").slice(0, 512),
  };
}

/**
 * The IP in a grpc-js peer string. grpc-js writes a TCP peer as `${remoteAddress}:${remotePort}` with
 * an IPv6 address unbracketed (`2001:db8::7:51234`, `::ffff:10.0.0.5:51234`), which no parser can
 * split safely without knowing that the port is always last: so it is dropped here, where that is known.
 */
function grpcJsPeerIp(peer: string): string {
  const port = /:\d{1,5}$/.exec(peer);
  return addressOf(port ? peer.slice(0, port.index) : peer);
}

function clientIp(peer: string, forwardedFor: string | undefined, trustedProxies: TrustedProxies): string {
  if (!forwardedFor || !trustedProxies.has(peer)) return peer;
  const hops = forwardedFor
    .split(",")
    .map((hop) => hop.trim())
    .filter(Boolean);
  for (const hop of hops.toReversed()) {
    const address = addressOf(hop);
    if (!address) return peer;
    if (!trustedProxies.has(address)) return address;
  }
  return addressOf(hops[0] ?? "") || peer;
}

// A connection's peer is the same string on each of its calls, and a service talks to few peers at a
// time (clients, proxies): parsing it (regular expressions and isIP) once per peer rather than once
// per call. One cache per notation: a bare IPv6 address can read as a grpc-js `address:port` too.
// Bounded: emptied when full, since refilling costs no more than not caching.
const socketPeers = new Map<string, string>();
const grpcJsPeers = new Map<string, string>();
const maxPeerAddresses = 1_024;

function peerAddressOf(cache: Map<string, string>, peer: string, parse: (peer: string) => string): string {
  let address = cache.get(peer);
  if (address === undefined) {
    address = parse(peer);
    if (cache.size >= maxPeerAddresses) cache.clear();
    cache.set(peer, address);
  }
  return address;
}

/**
 * The IP address in `192.0.2.1`, `192.0.2.1:5000`, `2001:db8::1`, `[2001:db8::1]` or
 * `[2001:db8::1]:5000`, with `::ffff:192.0.2.1` (how Node shows IPv4 peers on a dual-stack socket)
 * as `192.0.2.1`; "" for anything that is no IP address.
 */
function addressOf(text: string): string {
  const trimmed = text.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(trimmed);
  const ipv4WithPort = /^([\d.]+):\d{1,5}$/.exec(trimmed);
  const address = bracketed?.[1] ?? ipv4WithPort?.[1] ?? trimmed;
  const mapped = address.toLowerCase().startsWith("::ffff:") ? address.slice("::ffff:".length) : "";
  if (isIPv4(mapped)) return mapped;
  return isIP(address) ? address : "";
}
