import { describe, expect, it } from "vitest";
import { requestInfoFrom, requestInfoFromGrpcJsPeer } from "../../../../services/shared/server/request-info.js";
import { parseTrustedProxies } from "../../../../services/shared/trusted-proxies.js";

// Who is calling: the peer's address unless a trusted proxy forwarded the request, a request id
// the client may choose within limits, and a bounded User-Agent.

const headers =
  (values: Record<string, string>) =>
  (name: string): string | undefined =>
    values[name];
const proxy = new Set(["10.0.0.2"]);

describe("the client's IP", () => {
  it("is the peer's address when no proxy is trusted, whatever X-Forwarded-For claims", () => {
    const info = requestInfoFrom("203.0.113.7", headers({ "x-forwarded-for": "198.51.100.1" }), new Set());
    expect(info.ip).toBe("203.0.113.7");
  });

  it("is the peer's address when the peer is not a trusted proxy", () => {
    const info = requestInfoFrom("203.0.113.7", headers({ "x-forwarded-for": "198.51.100.1" }), proxy);
    expect(info.ip).toBe("203.0.113.7");
  });

  it("is the hop a trusted proxy added, not one the client wrote itself", () => {
    const forwarded = "198.51.100.99, 198.51.100.1";
    expect(requestInfoFrom("10.0.0.2", headers({ "x-forwarded-for": forwarded }), proxy).ip).toBe("198.51.100.1");
  });

  it("skips every trusted proxy in the chain", () => {
    const proxies = new Set(["10.0.0.2", "10.0.0.3"]);
    const forwarded = "198.51.100.1, 10.0.0.3";
    expect(requestInfoFrom("10.0.0.2", headers({ "x-forwarded-for": forwarded }), proxies).ip).toBe("198.51.100.1");
  });

  it("drops the IPv4-mapped IPv6 prefix", () => {
    expect(requestInfoFrom("::ffff:203.0.113.7", headers({}), new Set()).ip).toBe("203.0.113.7");
    const viaProxy = requestInfoFrom("::ffff:10.0.0.2", headers({ "x-forwarded-for": "::ffff:198.51.100.1" }), proxy);
    expect(viaProxy.ip).toBe("198.51.100.1");
  });
});

describe("a forwarded hop", () => {
  const viaProxy = (forwarded: string) =>
    requestInfoFrom("10.0.0.2", headers({ "x-forwarded-for": forwarded }), proxy).ip;

  // A proxy that appends the client's source port would otherwise make every connection a new
  // network: a fresh per-IP limit each time, and the new-network signal on every sign-in.
  it.each([
    ["198.51.100.1:5123", "198.51.100.1"],
    ["[2001:db8::7]:5123", "2001:db8::7"],
    ["[2001:db8::7]", "2001:db8::7"],
    ["2001:db8::7", "2001:db8::7"],
    ["[::ffff:198.51.100.1]:5123", "198.51.100.1"],
  ])("%j is read as the address %j", (forwarded, address) => {
    expect(viaProxy(forwarded)).toBe(address);
  });

  it.each(["unknown", "_hidden", "198.51.100.1:port", "example.com", "2001:db8::7::1"])(
    "%j is no address, so the peer's address stands",
    (forwarded) => {
      expect(viaProxy(forwarded)).toBe("10.0.0.2");
    },
  );

  it("that is no address ends the walk: no hop a client wrote before it is believed", () => {
    expect(viaProxy("198.51.100.99, unknown")).toBe("10.0.0.2");
  });
});

describe("the peer's address", () => {
  it("is read from grpc-js's ip:port and [v6]:port forms", () => {
    expect(requestInfoFrom("203.0.113.7:41000", headers({}), new Set()).ip).toBe("203.0.113.7");
    expect(requestInfoFrom("[2001:db8::9]:41000", headers({}), new Set()).ip).toBe("2001:db8::9");
  });

  it('is "" when the transport cannot tell (grpc-js says "unknown")', () => {
    expect(requestInfoFrom("unknown", headers({}), new Set()).ip).toBe("");
  });
});

describe("trusted proxies from TRUSTED_PROXIES", () => {
  it("match a network's every address", () => {
    const proxies = parseTrustedProxies(["10.0.0.0/8"]);
    expect(requestInfoFrom("10.9.8.7", headers({ "x-forwarded-for": "198.51.100.1" }), proxies).ip).toBe(
      "198.51.100.1",
    );
  });

  it("match an IPv6 address however it is written", () => {
    const proxies = parseTrustedProxies(["2001:db8:0:0::1"]);
    expect(requestInfoFrom("2001:db8::1", headers({ "x-forwarded-for": "198.51.100.1" }), proxies).ip).toBe(
      "198.51.100.1",
    );
    expect(requestInfoFrom("[2001:DB8::1]:443", headers({ "x-forwarded-for": "198.51.100.1" }), proxies).ip).toBe(
      "198.51.100.1",
    );
  });

  it("match an IPv4 proxy seen as an IPv4-mapped IPv6 peer", () => {
    const proxies = parseTrustedProxies(["10.0.0.2"]);
    expect(requestInfoFrom("::ffff:10.0.0.2", headers({ "x-forwarded-for": "198.51.100.1" }), proxies).ip).toBe(
      "198.51.100.1",
    );
  });
});

describe("the request id", () => {
  it("is the client's own when it is 8 to 64 safe characters", () => {
    expect(requestInfoFrom("", headers({ "x-request-id": "trace-0001.a_b" }), new Set()).requestId).toBe(
      "trace-0001.a_b",
    );
  });

  it.each(["short", "x".repeat(65), "has space!", "line\nbreak00"])("is a fresh UUID instead of %j", (supplied) => {
    const { requestId } = requestInfoFrom("", headers({ "x-request-id": supplied }), new Set());
    expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});

describe("the User-Agent", () => {
  it("is kept up to 512 characters", () => {
    expect(requestInfoFrom("", headers({ "user-agent": "a".repeat(600) }), new Set()).userAgent).toHaveLength(512);
    expect(requestInfoFrom("", headers({}), new Set()).userAgent).toBe("");
  });
});

describe("grpc-js peers", () => {
  // grpc-js writes `${remoteAddress}:${remotePort}`, IPv6 unbracketed.
  it("are read as their address, IPv6 and IPv4-mapped included, so proxies and per-IP limits see the real peer", () => {
    const ipOf = (peer: string, values: Record<string, string> = {}) =>
      requestInfoFromGrpcJsPeer(peer, headers(values), proxy).ip;
    expect(ipOf("203.0.113.7:51234")).toBe("203.0.113.7");
    expect(ipOf("2001:db8::7:51234")).toBe("2001:db8::7");
    expect(ipOf("::1:5000")).toBe("::1");
    expect(ipOf("::ffff:10.0.0.2:51234")).toBe("10.0.0.2");
    expect(ipOf("::ffff:10.0.0.2:9", { "x-forwarded-for": "198.51.100.1" })).toBe("198.51.100.1");
    expect(ipOf("unknown")).toBe("");
  });

  it("are not confused with a bare IPv6 address that reads the same: each notation has its own cache", () => {
    expect(requestInfoFromGrpcJsPeer("2001:db8::7:5123", headers({}), proxy).ip).toBe("2001:db8::7");
    expect(requestInfoFrom("2001:db8::7:5123", headers({}), proxy).ip).toBe("2001:db8::7:5123");
  });
});
