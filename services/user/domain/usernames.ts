import { InvalidArgumentError } from "../../shared/errors/domain-errors.js";

// Username rules (docs/product.md, "Usernames"): 3-30 characters of letters, digits, "_" and "."; unique
// whatever the case (the database's unique index on lower(username) is the guard); not reserved.
// The name is stored as typed, so "AdaL" shows as "AdaL", and "adal" cannot be taken by anyone else.

const format = /^[A-Za-z0-9_.]{3,30}$/;

/**
 * Names that would let someone pass for the platform, its staff or a route of its apps. Compared
 * lower-cased and with "." and "_" removed, so "Ad.Min" and "support_" are reserved too.
 */
export const reservedUsernames: ReadonlySet<string> = new Set([
  "about",
  "account",
  "accounts",
  "admin",
  "administrator",
  "api",
  "app",
  "auth",
  "billing",
  "blog",
  "contact",
  "creator",
  "creators",
  "dashboard",
  "developer",
  "developers",
  "everyone",
  "explore",
  "help",
  "helpdesk",
  "home",
  "info",
  "login",
  "logout",
  "me",
  "mint",
  "mintcoin",
  "mod",
  "moderator",
  "moderators",
  "news",
  "null",
  "official",
  "owner",
  "payment",
  "payments",
  "privacy",
  "register",
  "root",
  "security",
  "service",
  "settings",
  "signin",
  "signup",
  "staff",
  "status",
  "support",
  "system",
  "team",
  "terms",
  "undefined",
  "user",
  "users",
  "verified",
  "wallet",
  "webmaster",
  "www",
]);

/** Prefixes reserved for the platform's own accounts. */
const reservedPrefixes = ["mintcoin", "official"];

export type UsernameProblem = "invalid" | "reserved";

/** Why a name cannot be taken by anyone, or undefined when it could be (if nobody holds it). */
export function usernameProblem(
  username: string,
  extraReserved: ReadonlySet<string> = new Set(),
): UsernameProblem | undefined {
  if (!format.test(username)) return "invalid";
  const key = username.toLowerCase().replace(/[._]/g, "");
  if (
    reservedUsernames.has(key) ||
    extraReserved.has(key) ||
    reservedPrefixes.some((prefix) => key.startsWith(prefix))
  ) {
    return "reserved";
  }
  return undefined;
}

/** INVALID_ARGUMENT naming `username` for a malformed or reserved name. */
export function assertUsernameAllowed(username: string, extraReserved?: ReadonlySet<string>): void {
  const problem = usernameProblem(username, extraReserved);
  if (problem === "invalid") {
    throw new InvalidArgumentError("username", "username: use 3 to 30 letters, digits, _ and .", "USERNAME_INVALID");
  }
  if (problem === "reserved") {
    throw new InvalidArgumentError(
      "username",
      `username: "${username}" is reserved; choose another`,
      "USERNAME_RESERVED",
    );
  }
}

/** The reserved-name key of an operator's extra entry (lower-cased, "." and "_" removed). */
export function reservedKey(name: string): string {
  return name.toLowerCase().replace(/[._]/g, "");
}
