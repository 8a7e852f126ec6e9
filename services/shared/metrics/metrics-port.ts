import { z } from "zod";

/**
 * The port of a service's metrics endpoint: a number (0 picks a free port, for tests), or "off" to
 * serve no metrics. Parsed to `undefined` for "off".
 */
export function metricsPort(defaultPort: number) {
  return z
    .union([z.literal("off"), z.coerce.number().int().min(0).max(65_535)], {
      error: 'expected a port number (0 for any free port) or "off"',
    })
    .default(defaultPort)
    .transform((value) => (value === "off" ? undefined : value));
}
