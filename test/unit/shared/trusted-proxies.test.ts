import { describe, expect, it } from "vitest";
import { clientNetwork } from "../../../services/shared/client-network.js";
import { commonEnv } from "../../../services/shared/config/common.js";
import { parseEnv } from "../../../services/shared/config/env.js";
import { isTrustedProxyEntry, parseTrustedProxies } from "../../../services/shared/trusted-proxies.js";
import { configErrorOf, namesVariable } from "../support/config-error.js";

// TRUSTED_PROXIES entries are addresses or networks, checked at start: one that can never match would
// silently leave every client behind the load balancer sharing its per-IP limits.

describe("a TRUSTED_PROXIES entry", () => {
  it.each(["10.0.0.2", "10.0.0.0/8", "0.0.0.0/0", "::1", "2001:db8::/32", "2001:db8:0:0:0:0:0:1", "::/0"])(
    "%j is an address or a network",
    (entry) => {
      expect(isTrustedProxyEntry(entry)).toBe(true);
    },
  );

  it.each([
    "lb.internal",
    "10.0.0.0/33",
    "2001:db8::/129",
    "10.0.0.2:443",
    "[::1]",
    "10.0.0.0/8/8",
    "10.0.0.0/",
    "fe80::1%eth0",
  ])("%j is refused", (entry) => {
    expect(isTrustedProxyEntry(entry)).toBe(false);
    expect(() => parseTrustedProxies([entry])).toThrow(/TRUSTED_PROXIES/);
  });

  it("that is bad stops start-up, naming the variable", () => {
    const error = configErrorOf(() => parseEnv(commonEnv, { TRUSTED_PROXIES: "10.0.0.2, lb.internal" }));
    expect(error).toMatch(namesVariable("TRUSTED_PROXIES"));
  });

  it("list that is good is kept as written", () => {
    expect(parseEnv(commonEnv, { TRUSTED_PROXIES: "10.0.0.0/8, ::1" }).TRUSTED_PROXIES).toEqual(["10.0.0.0/8", "::1"]);
  });
});

describe("the trusted proxies", () => {
  it("hold the addresses of their networks and no other", () => {
    const proxies = parseTrustedProxies(["10.0.0.0/8", "2001:db8::/64", "192.0.2.1"]);
    expect(["10.255.0.1", "2001:db8::ab", "2001:DB8:0:0:1::1", "192.0.2.1"].map((ip) => proxies.has(ip))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(["11.0.0.1", "2001:db8:0:1::1", "192.0.2.2", "", "unknown"].map((ip) => proxies.has(ip))).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe("the network of a caller whose address is unknown", () => {
  // Skipping the limit for such calls would let anyone whose address the transport cannot read
  // try without bound; counted together, they share one limit.
  it.each(["", "unknown", "not-an-ip"])("is the one shared network for %j", (ip) => {
    expect(clientNetwork(ip)).toBe("unknown");
  });
});
