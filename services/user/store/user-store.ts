import { sql, type Kysely, type Selectable } from "kysely";
import type { AgeBracket, Gender, KycStatus, LifecycleState, UserProfile, UserStatus } from "../domain/profile.js";
import type { UserDatabase, UsersTable } from "./schema.js";
import { translatingUniqueViolations } from "./unique-violation.js";

type UserRow = Selectable<UsersTable> & { date_of_birth_text: string | null };

function selectUsers(db: Kysely<UserDatabase>) {
  // A `date` read as text: pg would turn it into a Date at local midnight, off by a day elsewhere.
  return db
    .selectFrom("users")
    .selectAll("users")
    .select(sql<string | null>`to_char(users.date_of_birth, 'YYYY-MM-DD')`.as("date_of_birth_text"));
}

export async function findUserById(db: Kysely<UserDatabase>, id: string): Promise<UserProfile | undefined> {
  const row = await selectUsers(db).where("id", "=", id).executeTakeFirst();
  return row && userRowToProfile(row);
}

/** By username, whatever its case (uses the unique index on lower(username)). */
export async function findUserByUsername(db: Kysely<UserDatabase>, username: string): Promise<UserProfile | undefined> {
  const row = await selectUsers(db).where(sql<string>`lower(username)`, "=", username.toLowerCase()).executeTakeFirst();
  return row && userRowToProfile(row);
}

export async function findUserByPhone(db: Kysely<UserDatabase>, phone: string): Promise<UserProfile | undefined> {
  const row = await selectUsers(db).where("phone", "=", phone).executeTakeFirst();
  return row && userRowToProfile(row);
}

export async function findUserByEmail(db: Kysely<UserDatabase>, email: string): Promise<UserProfile | undefined> {
  const row = await selectUsers(db).where("email", "=", email).executeTakeFirst();
  return row && userRowToProfile(row);
}

/** Who holds a username (any case), if anyone. */
export async function findUsernameHolder(db: Kysely<UserDatabase>, username: string): Promise<string | undefined> {
  const row = await db
    .selectFrom("users")
    .select("id")
    .where(sql<string>`lower(username)`, "=", username.toLowerCase())
    .executeTakeFirst();
  return row?.id;
}

export interface Referrer {
  id: string;
  phone: string | null;
  email: string | null;
  lifecycleState: LifecycleState;
}

/** The user a referral code belongs to, in whatever state (the domain decides whether it counts). */
export async function findReferrer(db: Kysely<UserDatabase>, code: string): Promise<Referrer | undefined> {
  const row = await db
    .selectFrom("users")
    .select(["id", "phone", "email", "lifecycle_state"])
    .where("referral_code", "=", code)
    .executeTakeFirst();
  return (
    row && { id: row.id, phone: row.phone, email: row.email, lifecycleState: row.lifecycle_state as LifecycleState }
  );
}

/**
 * Serialises, until the transaction ends, everything that writes one user's identity data
 * (CreateUser and the verified-identifier consumer), including the case where the profile row does
 * not exist yet and so cannot be locked.
 */
export async function lockUserIdentity(db: Kysely<UserDatabase>, userId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`user-identity:${userId}`}, 0))`.execute(db);
}

export async function insertUser(db: Kysely<UserDatabase>, user: UserProfile): Promise<void> {
  await translatingUniqueViolations(db.insertInto("users").values(profileToRow(user)).execute());
}

/**
 * Writes `user` if the stored version is still `expectedVersion` (compare and set). Returns false
 * when another write got there first: the caller reads again and re-decides.
 */
export async function updateUserIfVersion(
  db: Kysely<UserDatabase>,
  user: UserProfile,
  expectedVersion: number,
): Promise<boolean> {
  const { id, created_at, last_active_at, ...changes } = profileToRow(user);
  const result = await translatingUniqueViolations(
    db.updateTable("users").set(changes).where("id", "=", id).where("version", "=", expectedVersion).executeTakeFirst(),
  );
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Records activity at `at`, but only when the stored value is more than `minIntervalMs` older (or
 * the user is DORMANT, so that it wakes at once): at most one write a minute per user, and an
 * older event never moves it back. Returns the lifecycle state when it wrote, else undefined.
 */
export async function touchLastActive(
  db: Kysely<UserDatabase>,
  userId: string,
  at: Date,
  minIntervalMs: number,
): Promise<LifecycleState | undefined> {
  const threshold = new Date(at.getTime() - minIntervalMs);
  const row = await db
    .updateTable("users")
    .set({ last_active_at: sql<Date>`greatest(coalesce(last_active_at, ${at}::timestamptz), ${at}::timestamptz)` })
    .where("id", "=", userId)
    .where((eb) =>
      eb.or([
        eb("last_active_at", "is", null),
        eb("last_active_at", "<", threshold),
        eb("lifecycle_state", "=", "dormant"),
      ]),
    )
    .returning("lifecycle_state")
    .executeTakeFirst();
  return row?.lifecycle_state as LifecycleState | undefined;
}

function profileToRow(user: UserProfile) {
  return {
    id: user.id,
    phone: user.phone,
    email: user.email,
    phone_verified: user.phoneVerified,
    email_verified: user.emailVerified,
    username: user.username,
    name: user.name,
    avatar_url: user.avatarUrl,
    bio: user.bio,
    gender: user.gender,
    age_bracket: user.ageBracket,
    date_of_birth: user.dateOfBirth,
    location: user.location,
    interests: user.interests,
    status: user.status,
    lifecycle_state: user.lifecycleState,
    is_creator: user.isCreator,
    suspended_at: user.suspendedAt,
    suspended_until: user.suspendedUntil,
    suspension_reason: user.suspensionReason,
    banned_at: user.bannedAt,
    ban_reason: user.banReason,
    lifecycle_reason: user.lifecycleReason,
    kyc_status: user.kycStatus,
    kyc_tier: user.kycTier,
    can_earn: user.canEarn,
    can_withdraw: user.canWithdraw,
    referral_code: user.referralCode,
    referred_by_code: user.referredByCode,
    referred_by_user_id: user.referredByUserId,
    registration_device_id: user.registrationDeviceId,
    registration_ip: user.registrationIp,
    registration_source: user.registrationSource,
    profile_completion_percent: user.profileCompletionPercent,
    last_active_at: user.lastActiveAt,
    created_at: user.createdAt,
    updated_at: user.updatedAt,
    deleted_at: user.deletedAt,
    version: user.version,
  };
}

function userRowToProfile(row: UserRow): UserProfile {
  return {
    id: row.id,
    phone: row.phone,
    email: row.email,
    phoneVerified: row.phone_verified,
    emailVerified: row.email_verified,
    username: row.username,
    name: row.name,
    avatarUrl: row.avatar_url,
    bio: row.bio,
    gender: row.gender as Gender | null,
    ageBracket: row.age_bracket as AgeBracket | null,
    dateOfBirth: row.date_of_birth_text,
    location: row.location,
    interests: row.interests,
    status: row.status as UserStatus,
    lifecycleState: row.lifecycle_state as LifecycleState,
    isCreator: row.is_creator,
    suspendedAt: row.suspended_at,
    suspendedUntil: row.suspended_until,
    suspensionReason: row.suspension_reason,
    bannedAt: row.banned_at,
    banReason: row.ban_reason,
    lifecycleReason: row.lifecycle_reason,
    kycStatus: row.kyc_status as KycStatus,
    kycTier: row.kyc_tier,
    canEarn: row.can_earn,
    canWithdraw: row.can_withdraw,
    referralCode: row.referral_code,
    referredByCode: row.referred_by_code,
    referredByUserId: row.referred_by_user_id,
    registrationDeviceId: row.registration_device_id,
    registrationIp: row.registration_ip,
    registrationSource: row.registration_source,
    profileCompletionPercent: row.profile_completion_percent,
    lastActiveAt: row.last_active_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletedAt: row.deleted_at,
    version: Number(row.version),
  };
}
