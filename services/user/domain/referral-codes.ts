import { randomInt } from "node:crypto";

// Referral codes: the username's first letters plus random characters, e.g. "ADALOV7K2QX". Upper
// case, without the characters people confuse when reading a code aloud (0/O, 1/I/L), and compared
// case-insensitively. The database's unique index decides collisions; the caller generates again.

const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const prefixLength = 6;
export const referralSuffixLength = 5;

/** Random characters for a code's tail; replaceable in tests to force a collision. */
export type ReferralSuffixSource = () => string;

export const randomReferralSuffix: ReferralSuffixSource = () =>
  Array.from({ length: referralSuffixLength }, () => alphabet[randomInt(alphabet.length)]).join("");

export function referralCodeFor(username: string, suffix: string): string {
  const prefix =
    username
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, "")
      .slice(0, prefixLength) || "MINT";
  return `${prefix}${suffix}`;
}

/** The spelling codes are stored and looked up in. */
export function normalizeReferralCode(code: string): string {
  return code.trim().toUpperCase().replace(/[\s-]/g, "");
}
