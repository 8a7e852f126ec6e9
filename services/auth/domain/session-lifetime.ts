/**
 * A session has two ends (RFC 9700, section 4.14.2): a sliding one that each refresh pushes
 * `refreshTokenLifetimeMs` ahead, and an absolute one, `maxAgeMs` after sign-in, that no refresh
 * moves. Nothing the session issues outlives the absolute end: not its refresh tokens, not its
 * access tokens, so when it comes there is nothing left to revoke.
 */
export interface SessionLifetime {
  refreshTokenLifetimeMs: number;
  maxAgeMs: number;
}

/** The absolute end of a session signed in at `startedAt`. */
export function absoluteEndOf(startedAt: Date, lifetime: SessionLifetime): Date {
  return new Date(startedAt.getTime() + lifetime.maxAgeMs);
}

/** When a refresh token issued at `now` expires: the sliding expiry, never past the absolute end. */
export function refreshTokenExpiry(now: Date, absoluteEnd: Date, lifetime: SessionLifetime): Date {
  return new Date(Math.min(now.getTime() + lifetime.refreshTokenLifetimeMs, absoluteEnd.getTime()));
}
