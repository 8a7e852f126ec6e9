import { ConfigError } from "../../shared/config/env.js";
import { normalizeIdentifier } from "../../shared/identifiers.js";

/**
 * ADMIN_IDENTIFIERS, normalised the way sign-ins are ("+44 7911 123456" and "+447911123456" are one
 * phone), so that the admin role cannot be missed over spelling. An entry with "@" is an email.
 */
export function adminIdentifiersFrom(entries: string[], defaultPhoneRegion: string | undefined): ReadonlySet<string> {
  const normalized = new Set<string>();
  for (const entry of entries) {
    try {
      normalized.add(normalizeIdentifier(entry.includes("@") ? "email" : "phone", entry, defaultPhoneRegion));
    } catch {
      // Named by position, not quoted: configuration errors never repeat values (config/env.ts).
      throw new ConfigError(
        `invalid configuration:\n  ADMIN_IDENTIFIERS: entry ${entries.indexOf(entry) + 1} is neither an email address nor a phone number (value not shown)`,
      );
    }
  }
  return normalized;
}
