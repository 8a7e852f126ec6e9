import type { Clock } from "../../shared/clock.js";
import { clientNetwork } from "../../shared/client-network.js";
import { RateLimitedError } from "../../shared/errors/domain-errors.js";

export interface PublicLookupLimitOptions {
  clock: Clock;
  /** Look-ups without a valid token per client network within `windowMs`. */
  maxRequests: number;
  windowMs: number;
  /** Networks remembered at once; the least recently seen are forgotten first, so memory stays bounded. */
  maxNetworks: number;
}

export type PublicLookupLimit = ReturnType<typeof createPublicLookupLimit>;

/**
 * A sliding-window limit on public profile look-ups per client network (an IPv4 address or an IPv6
 * /64: client-network.ts), kept in this instance's memory. Unlike the auth service's limits it is not
 * in the database: it guards a read, and a count kept there would turn every anonymous look-up, and
 * every refused one, into a write, so a flood would load the database as much with the limit as
 * without it. Across N instances a network may get N times the limit (docs/product.md, "Public
 * look-ups"). A refused look-up is not counted.
 */
export function createPublicLookupLimit(options: PublicLookupLimitOptions) {
  /** Hit times (ms) per network, oldest first; the Map's order is least recently seen first. */
  const hits = new Map<string, number[]>();

  /** Counts a look-up from `ip`, or throws RESOURCE_EXHAUSTED saying when the next one is allowed. */
  function take(ip: string): void {
    const network = clientNetwork(ip);
    const now = options.clock.now().getTime();
    const windowStart = now - options.windowMs;
    const recent = (hits.get(network) ?? []).filter((at) => at > windowStart);
    hits.delete(network);
    const oldest = recent[0];
    if (oldest !== undefined && recent.length >= options.maxRequests) {
      hits.set(network, recent);
      throw new RateLimitedError(
        oldest + options.windowMs - now,
        "too many profile look-ups without a sign-in from this network; sign in, or retry later",
        "PUBLIC_LOOKUP_RATE_LIMITED",
      );
    }
    recent.push(now);
    hits.set(network, recent);
    const leastRecent = hits.keys().next().value;
    if (hits.size > options.maxNetworks && leastRecent !== undefined) hits.delete(leastRecent);
  }

  return { take };
}
