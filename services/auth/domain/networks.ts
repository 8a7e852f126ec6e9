import { isIPv4, isIPv6 } from "node:net";

/**
 * The network an IP belongs to for the "new network" sign-in check: its IPv4 /24 or IPv6 /48,
 * written as a CIDR ("203.0.113.0/24", "2001:db8:1::/48"). A /24 is the usual unit of an IPv4
 * allocation to one site, a /48 the usual IPv6 assignment to one site (RFC 6177), so a device seen
 * again on another address of the same network has not moved. Null when the IP is empty or not an
 * address (nothing to compare).
 */
export function networkOf(ip: string): string | null {
  if (isIPv4(ip)) return `${ip.split(".").slice(0, 3).join(".")}.0/24`;
  if (!isIPv6(ip)) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  if (mapped) return networkOf(mapped);
  const groups = expandIPv6(ip);
  return `${groups
    .slice(0, 3)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":")}::/48`;
}

/** The eight 16-bit groups of an IPv6 address, lower-case hex ("::" and an embedded IPv4 expanded). */
function expandIPv6(ip: string): string[] {
  let text = ip.toLowerCase().replace(/%.*$/, "");
  const embedded = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (embedded) {
    const [a, b, c, d] = embedded.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, embedded.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill("0"), ...right];
}
