import type { Clock } from "../../shared/clock.js";
import { InvalidArgumentError } from "../../shared/errors/domain-errors.js";

// Checks on profile values that the .proto rules cannot express. The .proto already limits
// lengths, list sizes, enum values and the shape of dates.

/** An avatar is shown in apps and browsers: only http(s) URLs, never javascript: or data:. */
export function assertAvatarUrl(url: string | null): void {
  if (url === null) return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError("avatar_url", "avatar_url: not a valid URL");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new InvalidArgumentError("avatar_url", "avatar_url: must be an http or https URL");
  }
}

/** A real calendar date (no 2001-02-30), not in the future, not before 1900. */
export function assertDateOfBirth(date: string | null, clock: Clock): void {
  if (date === null) return;
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const parsed = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : undefined;
  if (!parsed || parsed.toISOString().slice(0, 10) !== date) {
    throw new InvalidArgumentError("date_of_birth", "date_of_birth: not a real date (YYYY-MM-DD)");
  }
  if (parsed.getUTCFullYear() < 1900 || parsed > clock.now()) {
    throw new InvalidArgumentError("date_of_birth", "date_of_birth: must be between 1900-01-01 and today");
  }
}

/** Interests are shown as tags: no blank ones. (Count, length and duplicates are .proto rules.) */
export function assertInterests(interests: string[]): void {
  if (interests.some((interest) => interest.trim().length === 0)) {
    throw new InvalidArgumentError("interests", "interests: an interest cannot be blank");
  }
}

/** An optional text: empty means "not given". */
export function optionalText(value: string): string | null {
  return value.length > 0 ? value : null;
}
