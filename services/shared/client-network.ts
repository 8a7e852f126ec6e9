import { isIPv4, isIPv6 } from "node:net";

/** Where calls from an unknown address are counted, together. */
const unknownNetwork = "unknown";

/**
 * The network a per-IP limit counts a client under. An IPv4 address is one client (or one NAT). An
 * IPv6 client is routinely given a whole /64 (RFC 6177; RFC 7421: SLAAC and privacy addresses rotate
 * inside it), so counting exact IPv6 addresses would give one machine a fresh limit with every new
 * address: IPv6 is grouped by its /64, written `2001:db8:1:2::/64`. An IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`, RFC 4291 section 2.5.5.2) is the IPv4 address it carries. Anything that is not
 * an IP address (the transport could not tell: an empty peer) counts under one network,
 * `unknown`: such calls share one limit rather than escape every limit.
 */
export function clientNetwork(ip: string): string {
  const address = ip.trim();
  if (isIPv4(address)) return address;
  const withoutZone = address.split("%")[0] ?? "";
  if (!isIPv6(withoutZone)) return unknownNetwork;
  const groups = ipv6Groups(withoutZone);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(":")}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted IPv4 as two groups). */
function ipv6Groups(address: string): number[] {
  const parse = (part: string): number[] =>
    part === ""
      ? []
      : part.split(":").flatMap((piece) => {
          if (!piece.includes(".")) return [Number.parseInt(piece, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = piece.split(".").map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head = "", tail] = address.split("::");
  const front = parse(head);
  if (tail === undefined) return front;
  const back = parse(tail);
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}
