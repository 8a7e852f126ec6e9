import { parsePhoneNumberWithError, type CountryCode } from "libphonenumber-js/max";
import { z } from "zod";
import { InvalidArgumentError } from "../../shared/errors/domain-errors.js";

export type IdentifierType = "phone" | "email";

const emailSchema = z.email();

/**
 * The one spelling of an identifier that is stored and compared: phones in E.164, emails trimmed and
 * lower-cased. Everything that looks identifiers up goes through here, so "+44 7700 900123" and
 * "+447700900123" are the same person.
 */
export function normalizeIdentifier(type: IdentifierType, raw: string, defaultRegion?: string): string {
  const text = raw.trim();
  if (type === "email") {
    const email = text.toLowerCase();
    if (!emailSchema.safeParse(email).success) {
      throw new InvalidArgumentError("identifier", "identifier: not a valid email address");
    }
    return email;
  }
  try {
    const phone = parsePhoneNumberWithError(text, defaultRegion as CountryCode | undefined);
    if (!phone.isValid()) throw new Error("invalid number");
    return phone.number;
  } catch {
    const hint = defaultRegion ? "" : " in international format, starting with +";
    throw new InvalidArgumentError("identifier", `identifier: not a valid phone number${hint}`);
  }
}
