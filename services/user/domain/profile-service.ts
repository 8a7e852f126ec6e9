import type { Kysely } from "kysely";
import type { Clock } from "../../shared/clock.js";
import {
  AlreadyExistsError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnavailableError,
  type DomainError,
} from "../../shared/errors/domain-errors.js";
import { insertOutboxRows } from "../../shared/outbox/outbox-store.js";
import type { Transact } from "../../shared/outbox/transact.js";
import { profileCreatedEvent } from "../events/user-events.js";
import type { UserDatabase } from "../store/schema.js";
import { UniqueViolation } from "../store/unique-violation.js";
import {
  findReferrer,
  findUserById,
  findUserByUsername,
  findUsernameHolder,
  insertUser,
  lockUserIdentity,
} from "../store/user-store.js";
import { listVerifiedIdentifiers, type VerifiedIdentifier } from "../store/verified-identifier-store.js";
import { assertMayEditProfile, assertOwnProfileFound, isPubliclyVisible } from "./account-standing.js";
import { profileCompletionPercent } from "./completion.js";
import { afterProfileChange, initialState, statusOf } from "./lifecycle.js";
import { changedFields, isUserId, type ProfileFields, type UserProfile } from "./profile.js";
import type { ProfileWriter } from "./profile-writer.js";
import { assertAvatarUrl, assertDateOfBirth, assertInterests } from "./profile-values.js";
import {
  normalizeReferralCode,
  randomReferralSuffix,
  referralCodeFor,
  type ReferralSuffixSource,
} from "./referral-codes.js";
import { assertUsernameAllowed, usernameProblem } from "./usernames.js";

/** The caller as proven by the access token, and the connection it came over. */
export interface Caller {
  userId: string;
  deviceId: string;
  /** Identifiers from the token; only verified ones reach the profile. */
  phone: { value: string; verified: boolean } | undefined;
  email: { value: string; verified: boolean } | undefined;
  ip: string;
}

export interface NewProfile extends ProfileFields {
  username: string;
  referredByCode: string | null;
  registrationSource: string | null;
}

export interface UsernameAvailability {
  available: boolean;
  /** "invalid", "reserved" or "taken"; empty when available. */
  reason: "" | "invalid" | "reserved" | "taken";
}

export interface ProfileServiceDeps {
  db: Kysely<UserDatabase>;
  transact: Transact<UserDatabase>;
  clock: Clock;
  writer: ProfileWriter;
  /** Operator-added reserved names (keys as made by reservedKey). */
  extraReservedUsernames?: ReadonlySet<string>;
  referralSuffix?: ReferralSuffixSource;
}

const referralAttempts = 5;

export type ProfileService = ReturnType<typeof createProfileService>;

/** What a person does with their own profile, and what anyone signed in may see of others. */
export function createProfileService(deps: ProfileServiceDeps) {
  const { clock, writer } = deps;
  const referralSuffix = deps.referralSuffix ?? randomReferralSuffix;
  const noProfile = () => new NotFoundError("you have no profile yet: call CreateUser", "PROFILE_NOT_FOUND");
  const noSuchUser = () => new NotFoundError("no such user", "USER_NOT_FOUND");

  function assertProfileFields(fields: Partial<ProfileFields>): void {
    if (fields.avatarUrl !== undefined) assertAvatarUrl(fields.avatarUrl);
    if (fields.dateOfBirth !== undefined) assertDateOfBirth(fields.dateOfBirth, clock);
    if (fields.interests !== undefined) assertInterests(fields.interests);
  }

  /**
   * Creates the caller's profile. Its id is the token's subject; phone and email come from the
   * token's verified identifiers and from verified identifiers the auth service announced, never
   * from the request.
   */
  async function create(caller: Caller, input: NewProfile): Promise<UserProfile> {
    if (!isUserId(caller.userId))
      throw new PermissionDeniedError("only a user's own access token can create its profile", "NOT_A_USER");
    assertUsernameAllowed(input.username, deps.extraReservedUsernames);
    assertProfileFields(input);
    const referredByCode = input.referredByCode ? normalizeReferralCode(input.referredByCode) : null;

    for (let attempt = 1; ; attempt++) {
      try {
        return await deps.transact(async (trx) => {
          // One CreateUser at a time per subject, and none while a verified identifier of the
          // subject is being recorded (which would otherwise miss the profile being created).
          await lockUserIdentity(trx, caller.userId);
          if (await findUserById(trx, caller.userId)) {
            throw new AlreadyExistsError("user_id", "you already have a profile", "PROFILE_EXISTS");
          }
          if (await findUsernameHolder(trx, input.username)) throw usernameTaken(input.username);
          const contact = verifiedContact(caller, await listVerifiedIdentifiers(trx, caller.userId));
          const found = referredByCode ? await findReferrer(trx, referredByCode) : undefined;
          const referrer = found && isPubliclyVisible(found) ? found : undefined;
          if (referredByCode && !referrer) {
            throw new InvalidArgumentError(
              "referred_by_code",
              "referred_by_code: no user has this referral code",
              "REFERRAL_CODE_UNKNOWN",
            );
          }
          if (referrer && (referrer.id === caller.userId || sharesIdentifier(referrer, contact))) {
            throw new InvalidArgumentError(
              "referred_by_code",
              "referred_by_code: you cannot refer yourself",
              "SELF_REFERRAL",
            );
          }

          const now = clock.now();
          const draft: UserProfile = {
            id: caller.userId,
            ...contact,
            username: input.username,
            name: input.name,
            avatarUrl: input.avatarUrl,
            bio: input.bio,
            gender: input.gender,
            ageBracket: input.ageBracket,
            dateOfBirth: input.dateOfBirth,
            location: input.location,
            interests: input.interests,
            status: "active",
            lifecycleState: "registered",
            isCreator: false,
            suspendedAt: null,
            suspendedUntil: null,
            suspensionReason: null,
            bannedAt: null,
            banReason: null,
            lifecycleReason: null,
            kycStatus: "not_started",
            kycTier: 0,
            canEarn: false,
            canWithdraw: false,
            referralCode: referralCodeFor(input.username, referralSuffix()),
            referredByCode: referrer ? referredByCode : null,
            referredByUserId: referrer?.id ?? null,
            registrationDeviceId: caller.deviceId || null,
            registrationIp: caller.ip || null,
            registrationSource: input.registrationSource,
            profileCompletionPercent: 0,
            lastActiveAt: now,
            createdAt: now,
            updatedAt: now,
            deletedAt: null,
            version: 1,
          };
          const completion = profileCompletionPercent(draft);
          const state = initialState(completion);
          const user: UserProfile = {
            ...draft,
            profileCompletionPercent: completion,
            lifecycleState: state,
            status: statusOf(state),
          };
          await insertUser(trx, user);
          await insertOutboxRows(trx, [profileCreatedEvent(clock.now(), user)]);
          return user;
        });
      } catch (error) {
        if (!(error instanceof UniqueViolation)) throw error;
        // Another profile got the same random code first: draw again.
        if (error.column === "referral_code" && attempt < referralAttempts) continue;
        throw uniqueViolationError(error, input.username);
      }
    }
  }

  async function getMe(userId: string): Promise<UserProfile> {
    const user = await writer.load(userId, { wakeDormant: true, cached: true });
    if (!user) throw noProfile();
    assertOwnProfileFound(user);
    return user;
  }

  /** Changes the fields present in `fields`; nothing changed, nothing written. */
  function updateMe(userId: string, fields: Partial<ProfileFields>): Promise<UserProfile> {
    assertProfileFields(fields);
    const present = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
    return writer.change(
      userId,
      (current) => {
        assertMayEditProfile(current);
        const edited = { ...current, ...present };
        if (changedFields(current, edited).length === 0) return undefined;
        return { next: afterProfileChange(edited) };
      },
      { actorUserId: userId, notFound: noProfile, wakeDormant: true },
    );
  }

  async function updateUsername(userId: string, username: string): Promise<UserProfile> {
    assertUsernameAllowed(username, deps.extraReservedUsernames);
    const holder = await findUsernameHolder(deps.db, username);
    if (holder && holder !== userId) throw usernameTaken(username);
    try {
      return await writer.change(
        userId,
        (current) => {
          assertMayEditProfile(current);
          return current.username === username ? undefined : { next: { ...current, username } };
        },
        { actorUserId: userId, notFound: noProfile, wakeDormant: true },
      );
    } catch (error) {
      if (error instanceof UniqueViolation) throw uniqueViolationError(error, username);
      throw error;
    }
  }

  /** Whether CreateUser or UpdateUsername would accept the name for this caller now. */
  async function usernameAvailability(callerId: string, username: string): Promise<UsernameAvailability> {
    const problem = usernameProblem(username, deps.extraReservedUsernames);
    if (problem) return { available: false, reason: problem };
    const holder = await findUsernameHolder(deps.db, username);
    if (holder && holder !== callerId) return { available: false, reason: "taken" };
    return { available: true, reason: "" };
  }

  /** A user anyone signed in may look at: banned and deleted users are not found (account-standing.ts). */
  async function getPublic(userId: string): Promise<UserProfile> {
    return visible(await writer.load(userId));
  }

  async function getPublicByUsername(username: string): Promise<UserProfile> {
    const found = await findUserByUsername(deps.db, username);
    return visible(found && (await writer.load(found.id)));
  }

  function visible(user: UserProfile | undefined): UserProfile {
    if (!user || !isPubliclyVisible(user)) throw noSuchUser();
    return user;
  }

  return { create, getMe, updateMe, updateUsername, usernameAvailability, getPublic, getPublicByUsername };
}

/**
 * The profile's contact data: the token's verified identifiers, overlaid with those the auth
 * service announced by event (newer knowledge: a token issued before a link does not know it).
 */
function verifiedContact(caller: Caller, announced: VerifiedIdentifier[]) {
  let phone = caller.phone?.verified ? caller.phone.value : null;
  let email = caller.email?.verified ? caller.email.value : null;
  for (const identifier of announced) {
    if (identifier.type === "phone") phone = identifier.value;
    else email = identifier.value;
  }
  return { phone, email, phoneVerified: phone !== null, emailVerified: email !== null };
}

function sharesIdentifier(
  referrer: { phone: string | null; email: string | null },
  contact: { phone: string | null; email: string | null },
): boolean {
  return (
    (referrer.phone !== null && referrer.phone === contact.phone) ||
    (referrer.email !== null && referrer.email === contact.email)
  );
}

function usernameTaken(username: string): AlreadyExistsError {
  return new AlreadyExistsError("username", `username: "${username}" is taken`, "USERNAME_TAKEN");
}

function uniqueViolationError(error: UniqueViolation, username: string): DomainError {
  switch (error.column) {
    case "username":
      return usernameTaken(username);
    case "id":
      return new AlreadyExistsError("user_id", "you already have a profile", "PROFILE_EXISTS");
    case "phone":
      return new AlreadyExistsError("phone", "phone: this number is on another profile", "PHONE_TAKEN");
    case "email":
      return new AlreadyExistsError("email", "email: this address is on another profile", "EMAIL_TAKEN");
    default:
      return new UnavailableError("could not allocate a referral code; retry", "REFERRAL_CODE_CONTENDED");
  }
}
