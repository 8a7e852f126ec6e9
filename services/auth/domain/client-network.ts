import { isIPv4, isIPv6 } from "node:net";

/**
 * The network a per-IP limit counts a client under. An IPv4 address is one client (or one NAT);
 * an IPv6 client, though, is routinely given a whole /64 (RFC 6177, RFC 7421: SLAAC and privacy
 * addresses rotate inside it), so counting exact IPv6 addresses would let one machine take a fresh
 * limit with every request. IPv6 is therefore grouped by its /64, written `2001:db8:1:2::/64`;
 * an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, RFC 4291 section 2.5.5.2) is the IPv4 address it
 * carries. Anything that is not an IP address (an empty peer) is its own key, unchanged.
 */
export function clientNetwork(ip: string): string {
  const address = ip.trim();
  if (isIPv4(address)) return address;
  const [withoutZone = ""] = address.split("%");
  if (!isIPv6(withoutZone)) return address;
  const groups = ipv6Groups(withoutZone);
  const [high = 0, low = 0] = groups.slice(6);
  const mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  if (mapped) return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(":")}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted IPv4 split in two). */
function ipv6Groups(address: string): number[] {
  const parse = (part: string): number[] => {
    if (part === "") return [];
    return part.split(":").flatMap((piece) => {
      if (!piece.includes(".")) return [Number.parseInt(piece, 16)];
      const [a, b, c, d] = piece.split(".").map(Number) as [number, number, number, number];
      return [(a << 8) | b, (c << 8) | d];
    });
  };
  const [head = "", tail] = address.split("::");
  const front = parse(head);
  if (tail === undefined) return front;
  const back = parse(tail);
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}
