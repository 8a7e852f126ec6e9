import { BlockList, isIPv4, isIPv6 } from "node:net";

/** The peers whose X-Forwarded-For is believed (TRUSTED_PROXIES). */
export interface TrustedProxies {
  /** Whether `address` (a plain IP address, as request-info.ts reads it) is one of them. */
  has(address: string): boolean;
}

/**
 * Whether a TRUSTED_PROXIES entry is usable: an IPv4 or IPv6 address, or a network written
 * `address/prefix` (`10.0.0.0/8`, `2001:db8::/32`). Anything else is refused at start: an entry that
 * can never match (a host name, a typo, `10.0.0.0/33`) would silently leave every client behind the
 * load balancer sharing its per-IP limits.
 */
export function isTrustedProxyEntry(entry: string): boolean {
  return parseEntry(entry) !== undefined;
}

/**
 * The matcher for TRUSTED_PROXIES entries (each checked by isTrustedProxyEntry; a bad one throws).
 * It compares addresses, not text, so `::1` matches `0:0:0:0:0:0:0:1` and a network matches every
 * address inside it.
 */
export function parseTrustedProxies(entries: readonly string[]): TrustedProxies {
  const list = new BlockList();
  for (const entry of entries) {
    const parsed = parseEntry(entry);
    if (!parsed) throw new Error(`TRUSTED_PROXIES: not an IP address or network: ${entry}`);
    if (parsed.prefix === undefined) list.addAddress(parsed.address, parsed.family);
    else list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return {
    has(address) {
      const family = familyOf(address);
      return family !== undefined && list.check(address, family);
    },
  };
}

type Family = "ipv4" | "ipv6";

function parseEntry(entry: string): { address: string; family: Family; prefix: number | undefined } | undefined {
  const [address = "", prefixText, ...rest] = entry.trim().split("/");
  const family = familyOf(address);
  // A zone (`fe80::1%eth0`) names a link of this host, which a rule cannot match.
  if (!family || address.includes("%") || rest.length > 0) return undefined;
  if (prefixText === undefined) return { address, family, prefix: undefined };
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefix <= (family === "ipv4" ? 32 : 128))) return undefined;
  return { address, family, prefix };
}

function familyOf(address: string): Family | undefined {
  if (isIPv4(address)) return "ipv4";
  return isIPv6(address) ? "ipv6" : undefined;
}
