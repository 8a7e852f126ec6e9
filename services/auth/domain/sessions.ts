// The words of a session's life, shared by the domain services that start, refresh and end
// sessions and by the events that announce it.

/** The token pair a sign-in or refresh returns (TokenPair on the wire). */
export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: "Bearer";
  /** Access-token lifetime in seconds. */
  expiresIn: number;
}

/** How a person proved who they are when a session started. */
export type SignInMethod = "otp" | "password";

/** Why a session ended before its time (auth.session.revoked's reason). */
export type SessionRevokeReasonName =
  | "logout"
  | "user_revoked"
  | "revoke_all"
  | "refresh_token_reuse"
  | "device_blocked"
  | "password_reset"
  | "user_suspended"
  | "user_banned"
  | "user_deleted";
