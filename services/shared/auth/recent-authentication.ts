import { PermissionDeniedError } from "../errors/domain-errors.js";
import type { Principal } from "./principal.js";

/**
 * "Authenticated within N minutes" (step-up). A money platform asks for a fresh proof before a
 * withdrawal or a change of phone number: the access token's `auth_time` (OpenID Connect Core) is
 * when the person last actively authenticated in the session, by signing in or by
 * AuthService.StepUp; refreshing keeps it. A token without `auth_time` holds no authentication the
 * auth service vouches for (a sign-in its suspicious-login policy held for step-up) and is never
 * recent.
 *
 * The refusal is PERMISSION_DENIED, not UNAUTHENTICATED: the credential is good and refreshing it
 * would not help (the refreshed token keeps its auth_time), so a client that answers
 * UNAUTHENTICATED by refreshing or signing out must not see it. ErrorInfo reason STEP_UP_REQUIRED
 * with metadata `max_age_seconds` tells a client to call StepUp and retry (docs/errors.md).
 */
export class StepUpRequiredError extends PermissionDeniedError {
  override readonly metadata: Readonly<Record<string, string>>;
  constructor(
    readonly maxAgeSeconds: number,
    message = `this action needs an authentication within the last ${maxAgeSeconds} s; step up (AuthService.StepUp) and retry`,
  ) {
    super(message, "STEP_UP_REQUIRED");
    this.metadata = { max_age_seconds: String(maxAgeSeconds) };
  }
}

/** Whether `authTime` is at most `maxAgeSeconds` before `now`. */
export function isRecentAuthentication(authTime: Date | undefined, maxAgeSeconds: number, now: Date): boolean {
  return authTime !== undefined && now.getTime() - authTime.getTime() <= maxAgeSeconds * 1000;
}

/** Throws StepUpRequiredError unless the caller authenticated within `maxAgeSeconds` of `now`. */
export function requireRecentAuthentication(
  principal: Pick<Principal, "authTime">,
  options: { maxAgeSeconds: number; now: Date },
): void {
  if (!Number.isFinite(options.maxAgeSeconds) || options.maxAgeSeconds <= 0) {
    throw new RangeError("maxAgeSeconds must be a positive number of seconds");
  }
  if (!isRecentAuthentication(principal.authTime, options.maxAgeSeconds, options.now)) {
    throw new StepUpRequiredError(options.maxAgeSeconds);
  }
}
