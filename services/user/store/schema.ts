import type { ColumnType } from "kysely";
import type { OutboxTable } from "../../shared/outbox/outbox-table.js";

/** The user database's tables, as Kysely sees them. Row types never leave store/. */
export interface UserDatabase {
  outbox: OutboxTable;
  users: UsersTable;
  verified_identifiers: VerifiedIdentifiersTable;
}

type Timestamp = ColumnType<Date, Date, Date>;
type NullableTimestamp = ColumnType<Date | null, Date | null, Date | null>;

export interface UsersTable {
  id: string;
  phone: string | null;
  email: string | null;
  phone_verified: boolean;
  email_verified: boolean;
  username: string;
  name: string;
  avatar_url: string | null;
  bio: string | null;
  gender: string | null;
  age_bracket: string | null;
  /** A `date`: written as "YYYY-MM-DD", read back through to_char (see user-store.ts). */
  date_of_birth: ColumnType<Date | null, string | null, string | null>;
  location: string | null;
  interests: string[];
  status: string;
  lifecycle_state: string;
  is_creator: boolean;
  suspended_at: NullableTimestamp;
  suspended_until: NullableTimestamp;
  suspension_reason: string | null;
  banned_at: NullableTimestamp;
  ban_reason: string | null;
  lifecycle_reason: string | null;
  kyc_status: string;
  kyc_tier: number;
  can_earn: boolean;
  can_withdraw: boolean;
  referral_code: string;
  referred_by_code: string | null;
  referred_by_user_id: string | null;
  registration_device_id: string | null;
  registration_ip: string | null;
  registration_source: string | null;
  profile_completion_percent: number;
  last_active_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
  /** bigint: pg hands it back as a string. */
  version: ColumnType<string | number, number, number>;
}

export interface VerifiedIdentifiersTable {
  user_id: string;
  identifier_type: string;
  identifier: string;
  verified_at: Date;
  event_id: string;
}
