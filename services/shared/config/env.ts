import { z } from "zod";

/**
 * Reads one service's configuration from environment variables with a zod schema whose keys are the
 * variable names. A bad value stops start-up with a message naming the variable, so an operator
 * never has to guess which of thirty settings is wrong.
 *
 * The message never repeats the value: the process's error output ends up in logs that more people
 * read than may see its secrets, and a key, a password or a database URL with its password is
 * exactly what gets pasted into the wrong variable. The operator has the value; the name and what
 * was expected are enough to find it.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export function parseEnv<S extends z.ZodRawShape>(
  shape: S,
  env: Record<string, string | undefined>,
): z.infer<z.ZodObject<S>> {
  const result = z.object(shape).safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join(".");
    return `${name}: ${withoutValue(issue.message, env[name])} (value not shown)`;
  });
  throw new ConfigError(`invalid configuration:\n  ${problems.join("\n  ")}`);
}

/** A message with every copy of the value taken out, should a validator have quoted it. */
export function withoutValue(message: string, value: string | undefined): string {
  const trimmed = value?.trim();
  // Shorter than any secret, and likely to occur in the message's own words.
  if (!trimmed || trimmed.length < 4) return message;
  return message.split(trimmed).join("<value>");
}

const durationUnits = new Map(Object.entries({ ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }));

/** A duration such as "15m", "7d", "30s" or "250ms", parsed to milliseconds. */
export function duration(defaultValue: string) {
  return z
    .string()
    .default(defaultValue)
    .transform((text, ctx) => {
      const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
      const unitMs = match ? durationUnits.get(match[2]) : undefined;
      if (!match || unitMs === undefined) {
        ctx.addIssue({ code: "custom", message: 'expected a duration like "30s", "15m", "7d"' });
        return z.NEVER;
      }
      return Number(match[1]) * unitMs;
    });
}

/**
 * A duration that arms a timer: more than zero, and no longer than Node's timers hold (about 24.8
 * days; a longer delay would silently fire after 1 ms).
 */
export function timeout(defaultValue: string) {
  return duration(defaultValue).refine((ms) => ms > 0 && ms <= 2_147_483_647, {
    message: "expected a duration above 0 and at most 24d",
  });
}

/** A positive whole number given as text, with a default. */
export function positiveInt(defaultValue: number) {
  return z.coerce.number().int().positive().default(defaultValue);
}

export function port(defaultValue: number) {
  return z.coerce.number().int().min(0).max(65_535).default(defaultValue);
}

/** A port that is off unless set (unset or empty: undefined; 0 picks a free port). */
export function optionalPort() {
  return z
    .string()
    .optional()
    .transform((text) => (text === undefined || text.trim() === "" ? undefined : Number(text)))
    .pipe(z.number().int().min(0).max(65_535).optional());
}

/** "true"/"false"/"1"/"0"/"yes"/"no"; anything else is an error rather than a silent false. */
export function flag(defaultValue: boolean) {
  return z
    .enum(["true", "false", "1", "0", "yes", "no"])
    .optional()
    .transform((text) => (text === undefined ? defaultValue : ["true", "1", "yes"].includes(text)));
}

/** A comma-separated list; empty entries are dropped. */
export function list(defaultValue = "") {
  return z
    .string()
    .default(defaultValue)
    .transform((text) =>
      text
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item.length > 0),
    );
}

/**
 * One server URL or several, comma-separated (the members of a cluster, so that a client can reach
 * it while any one of them is down), each with one of `protocols` ("nats:", "tls:"). Unset, empty or
 * only commas: undefined. Blanks around entries are ignored, as in every list.
 */
export function optionalServerUrls(protocols: readonly string[]) {
  return z
    .string()
    .optional()
    .transform((text, ctx) => {
      const entries = (text ?? "")
        .split(",")
        .map((entry) => entry.trim())
        .filter((entry) => entry.length > 0);
      if (entries.length === 0) return undefined;
      const bad = entries.findIndex((entry) => !URL.canParse(entry) || !protocols.includes(new URL(entry).protocol));
      if (bad >= 0) {
        // By position, not value: an entry may carry a password.
        ctx.addIssue({
          code: "custom",
          message: `entry ${bad + 1} is not a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}`,
        });
        return z.NEVER;
      }
      return entries;
    });
}

export const optionalUrl = z
  .url()
  .optional()
  .or(z.literal("").transform(() => undefined));
