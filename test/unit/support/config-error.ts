import { expect } from "vitest";
import { ConfigError } from "../../../services/shared/config/env.js";

/** The message of the ConfigError that `load` stops start-up with. */
export function configErrorOf(load: () => unknown): string {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error("expected a ConfigError");
}

/** A line of a ConfigError's message that is about `variable` (whatever follows its name). */
export function namesVariable(variable: string): RegExp {
  return new RegExp(`^ {2}${variable}\\b`, "m");
}
