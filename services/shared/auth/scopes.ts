/**
 * The scopes a service account may hold (docs/product.md, "Service accounts"). The auth service
 * grants them and advertises them (scopes_supported); the user service names one per
 * administrative RPC. One list, so the two cannot drift apart.
 */
export const serviceScopes = ["users.read", "users.moderate", "users.kyc"] as const;

export type ServiceScope = (typeof serviceScopes)[number];

export function isServiceScope(value: string): value is ServiceScope {
  return (serviceScopes as readonly string[]).includes(value);
}

/** RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), printable ASCII but `"` and `\`. */
const scopeToken = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * The scope tokens of an OAuth 2.0 `scope` value (RFC 6749 section 3.3: tokens separated by single
 * spaces; their order does not matter, so duplicates collapse), or undefined when it is malformed.
 * An empty value is no scope at all, as RFC 6749 section 3.1 treats a parameter without a value.
 */
export function parseScope(value: string): string[] | undefined {
  if (value === "") return [];
  const tokens = value.split(" ");
  if (!tokens.every((token) => scopeToken.test(token))) return undefined;
  return [...new Set(tokens)];
}

/** The `scope` value of a list of scopes, in a stable order. */
export function formatScope(scopes: readonly string[]): string {
  return [...scopes].sort().join(" ");
}
