import type { SignInMethod } from "./sessions.js";

/** RFC 8176 authentication method references the auth service vouches for. */
export type AuthMethod = "otp" | "pwd";

/**
 * A session's last active authentication: a sign-in, or a step-up (StepUp) since. Access tokens
 * carry it as `auth_time` and `amr` (OpenID Connect Core, RFC 8176), and refreshes keep it. A
 * session without one (null) holds no authentication the service vouches for: a sign-in the
 * suspicious-login policy held for step-up, or a session from before step-up existed.
 */
export interface SessionAuthentication {
  time: Date;
  methods: AuthMethod[];
}

export function authMethodOf(method: SignInMethod): AuthMethod {
  return method === "otp" ? "otp" : "pwd";
}

/** The stored form back into the domain's (the columns hold what this module wrote). */
export function sessionAuthenticationFrom(time: Date | null, methods: string[]): SessionAuthentication | null {
  if (!time) return null;
  return { time, methods: methods.filter((method): method is AuthMethod => method === "otp" || method === "pwd") };
}
