import type { ColumnType, Generated, JSONColumnType } from "kysely";
import type { OutboxTable } from "../../shared/outbox/outbox-table.js";

/** The auth database's tables, as Kysely sees them. Row types never leave store/. */
export interface AuthDatabase {
  outbox: OutboxTable;
  server_secrets: ServerSecretsTable;
  otp_codes: OtpCodesTable;
  rate_limits: RateLimitsTable;
  otp_guards: OtpGuardsTable;
  otp_send_budgets: OtpSendBudgetsTable;
  verification_tokens: VerificationTokensTable;
  signing_keys: SigningKeysTable;
  identities: IdentitiesTable;
  user_restrictions: UserRestrictionsTable;
  devices: DevicesTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  passwords: PasswordsTable;
  password_guards: PasswordGuardsTable;
  service_accounts: ServiceAccountsTable;
  client_auth_guards: ClientAuthGuardsTable;
}

export interface ServerSecretsTable {
  name: string;
  value: Uint8Array;
  value_encrypted: Generated<boolean>;
  created_at: Generated<Date>;
}

export interface OtpCodesTable {
  id: string;
  identifier: string;
  identifier_type: string;
  purpose: string;
  code_hash: Uint8Array;
  attempts: Generated<number>;
  created_at: Date;
  expires_at: Date;
  closed_at: Date | null;
  device_id: string | null;
  ip_address: string | null;
  /** SHA-256 of the code's challenge id; null only for codes issued before challenges existed. */
  challenge_hash: Uint8Array | null;
}

export interface RateLimitsTable {
  key: string;
  hits: ColumnType<Date[], Date[], Date[]>;
  updated_at: Date;
}

export interface OtpGuardsTable {
  identifier: string;
  failures: number;
  locked_until: Date | null;
  last_failure_at: Date | null;
  updated_at: Date;
  /** Wrong guesses without a challenge since `unbound_since` (a window of its own). */
  unbound_failures: Generated<number>;
  unbound_since: Date | null;
}

export interface OtpSendBudgetsTable {
  channel: string;
  window_start: Date;
  sends: number;
}

export interface VerificationTokensTable {
  token_hash: Uint8Array;
  otp_id: string;
  identifier: string;
  identifier_type: string;
  purpose: string;
  prior_failures: number;
  created_at: Date;
  expires_at: Date;
}

/** A public key as JSON Web Key members (kty, crv, x, y). */
export type PublicJwkColumn = Record<string, string>;

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: JSONColumnType<PublicJwkColumn>;
  private_key: Uint8Array | null;
  private_key_encrypted: Generated<boolean>;
  created_at: Date;
  activates_at: Date;
  retired_at: Date | null;
}

export interface IdentitiesTable {
  identifier: string;
  identifier_type: string;
  user_id: string;
  created_at: Date;
}

export interface UserRestrictionsTable {
  user_id: string;
  suspended: Generated<boolean>;
  suspended_until: Date | null;
  banned: Generated<boolean>;
  deleted: Generated<boolean>;
  updated_at: Date;
  /** Profile version of the newest moderation event applied (int8, read as a string). */
  event_version: ColumnType<string, string | undefined, string>;
  /** occurred_at of the newest moderation event applied. */
  event_at: Date | null;
}

export interface DevicesTable {
  id: string;
  user_id: string;
  device_id: string;
  device_name: string;
  device_type: string;
  os_name: string;
  os_version: string;
  browser_name: string;
  browser_version: string;
  fingerprint: string;
  user_agent: string;
  trusted: Generated<boolean>;
  blocked: Generated<boolean>;
  blocked_reason: Generated<string>;
  blocked_at: Date | null;
  last_ip: string;
  last_used_at: Date;
  created_at: Date;
  /** Recent networks (IPv4 /24, IPv6 /48 in CIDR form), newest first. */
  networks: Generated<string[]>;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  device_record_id: string;
  device_id: string;
  device_name: string;
  method: string;
  ip_address: string;
  user_agent: string;
  created_at: Date;
  last_used_at: Date;
  /** The sliding expiry: the current refresh token's, never after absolute_expires_at. */
  expires_at: Date;
  /** SESSION_MAX_AGE after sign-in; no refresh moves it. */
  absolute_expires_at: Date;
  access_expires_at: Date;
  current_token_hash: Uint8Array;
  revoked_at: Date | null;
  revoke_reason: string | null;
  /** The last active authentication (sign-in or step-up); null: none the service vouches for. */
  auth_time: Date | null;
  /** RFC 8176 methods of that authentication ("otp", "pwd"). */
  auth_methods: Generated<string[]>;
  stepped_up_at: Date | null;
  /** The identifier the sign-in proved; null for sessions from before it was recorded. */
  sign_in_identifier: string | null;
}

export interface RefreshTokensTable {
  token_hash: Uint8Array;
  session_id: string;
  created_at: Date;
  expires_at: Date;
  rotated_at: Date | null;
  successor_hash: Uint8Array | null;
  successor_box: Uint8Array | null;
}

export interface PasswordsTable {
  user_id: string;
  /** argon2id PHC string. */
  hash: string;
  created_at: Date;
  updated_at: Date;
}

export interface PasswordGuardsTable {
  identifier: string;
  failures: number;
  locked_until: Date | null;
  last_failure_at: Date | null;
  updated_at: Date;
}

export interface ServiceAccountsTable {
  client_id: string;
  name: string;
  /** SHA-256 of the client secret. */
  secret_hash: Uint8Array;
  scopes: ColumnType<string[], string[], string[]>;
  created_at: Date;
  secret_rotated_at: Date | null;
  disabled_at: Date | null;
}

export interface ClientAuthGuardsTable {
  /** The client id and the client's address. */
  key: string;
  failures: number;
  locked_until: Date | null;
  last_failure_at: Date | null;
  updated_at: Date;
}
