import { z } from "zod";

/**
 * Reads one service's configuration from environment variables with a zod schema whose keys are the
 * variable names. A bad value stops start-up with a message naming the variable, so an operator
 * never has to guess which of thirty settings is wrong.
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
    return `${name}=${JSON.stringify(env[name] ?? null)}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration:\n  ${problems.join("\n  ")}`);
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

export const optionalUrl = z
  .url()
  .optional()
  .or(z.literal("").transform(() => undefined));
