import { parsePhoneNumberWithError, type CountryCode } from "libphonenumber-js/max";
import { z } from "zod";
import { InvalidArgumentError } from "../../shared/errors/domain-errors.js";

// Admin look-ups by phone or email use the spelling the auth service stores and puts in tokens:
// phones in E.164, emails trimmed and lower-cased. (The same rules as services/auth's
// normalizeIdentifier; the services share no code but services/shared.)

const emailSchema = z.email();

export function normalizePhone(raw: string, defaultRegion?: string): string {
  try {
    const phone = parsePhoneNumberWithError(raw.trim(), defaultRegion as CountryCode | undefined);
    if (!phone.isValid()) throw new Error("invalid number");
    return phone.number;
  } catch {
    throw new InvalidArgumentError("phone", `phone: not a valid phone number${defaultRegion ? "" : " in international format, starting with +"}`);
  }
}

export function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (!emailSchema.safeParse(email).success) throw new InvalidArgumentError("email", "email: not a valid email address");
  return email;
}
