import { parsePhoneNumberWithError, type CountryCode } from "libphonenumber-js/max";
import { z } from "zod";
import { InvalidArgumentError } from "./errors/domain-errors.js";

/** The two kinds of identifier a person signs in with: the one declaration both services use. */
export type IdentifierType = "phone" | "email";

const emailSchema = z.email();

// The one spelling of an identifier that is stored, compared and put in tokens: phones in E.164,
// emails trimmed and lower-cased. Both services normalise through here, so "+44 7911 123456" and
// "+447911123456" are the same person everywhere. `field` names the request field in errors.

export function normalizePhone(raw: string, defaultRegion?: string, field = "phone"): string {
  try {
    const phone = parsePhoneNumberWithError(raw.trim(), defaultRegion as CountryCode | undefined);
    if (!phone.isValid()) throw new Error("invalid number");
    return phone.number;
  } catch {
    const hint = defaultRegion ? "" : " in international format, starting with +";
    throw new InvalidArgumentError(field, `${field}: not a valid phone number${hint}`);
  }
}

export function normalizeEmail(raw: string, field = "email"): string {
  const email = raw.trim().toLowerCase();
  if (!emailSchema.safeParse(email).success)
    throw new InvalidArgumentError(field, `${field}: not a valid email address`);
  return email;
}

export function normalizeIdentifier(
  type: IdentifierType,
  raw: string,
  defaultRegion?: string,
  field = "identifier",
): string {
  return type === "email" ? normalizeEmail(raw, field) : normalizePhone(raw, defaultRegion, field);
}
