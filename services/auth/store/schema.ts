import type { ColumnType, Generated, JSONColumnType } from "kysely";
import type { OutboxTable } from "../../shared/outbox/outbox-table.js";

/** The auth database's tables, as Kysely sees them. Row types never leave store/. */
export interface AuthDatabase {
  outbox: OutboxTable;
  server_secrets: ServerSecretsTable;
  otp_codes: OtpCodesTable;
  rate_limits: RateLimitsTable;
  otp_guards: OtpGuardsTable;
  verification_tokens: VerificationTokensTable;
  signing_keys: SigningKeysTable;
  identities: IdentitiesTable;
  user_restrictions: UserRestrictionsTable;
  devices: DevicesTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  passwords: PasswordsTable;
  password_guards: PasswordGuardsTable;
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
  expires_at: Date;
  access_expires_at: Date;
  current_token_hash: Uint8Array;
  revoked_at: Date | null;
  revoke_reason: string | null;
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
