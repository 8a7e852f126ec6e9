import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Clock } from "../../shared/clock.js";
import { PermissionDeniedError } from "../../shared/errors/domain-errors.js";
import type { IdentifierType } from "../../shared/identifiers.js";
import type { OutboxRow } from "../../shared/outbox/outbox-rows.js";
import { deviceRegisteredEvent, loginEvent } from "../events/login-events.js";
import { sessionCreatedEvent } from "../events/session-events.js";
import { registerDeviceForSignIn } from "../store/device-store.js";
import type { AuthDatabase } from "../store/schema.js";
import { insertSession } from "../store/session-store.js";
import { holdUserGate } from "../store/user-gate-store.js";
import type { AccessTokenIssuer, UserIdentifier } from "./access-tokens.js";
import { assessSignIn, refusedSignals, SuspiciousSignInError, type LoginRiskPolicy } from "./login-risk.js";
import { networkOf } from "./networks.js";
import { newOpaqueToken } from "./opaque-tokens.js";
import { authMethodOf, type SessionAuthentication } from "./session-authentication.js";
import { absoluteEndOf, refreshTokenExpiry, type SessionLifetime } from "./session-lifetime.js";
import type { SignInMethod, TokenPair } from "./sessions.js";
import { deviceFingerprint, parseUserAgent } from "./user-agent.js";
import { restrictionError } from "./user-restrictions.js";

export interface StartSessionInput {
  userId: string;
  /** True when this sign-in minted the user (only OTP sign-ins do). */
  newUser: boolean;
  method: SignInMethod;
  /** The identifier the person proved. */
  identifier: string;
  identifierType: IdentifierType;
  deviceId: string;
  deviceName: string;
  ip: string;
  userAgent: string;
  /** Failed attempts for the identifier just before this success (suspicious-login checks). */
  recentFailures: number;
  /** A session id minted by the caller (e.g. to name it in its own events); random otherwise. */
  sessionId?: string;
  /** Further events to record with the session's (e.g. auth.user.registered). */
  extraEvents?: OutboxRow[];
  /** The caller's transaction already holds the user's gate shared (taken with its own first statement). */
  userGateHeld?: boolean;
}

export interface StartedSession {
  sessionId: string;
  deviceRecordId: string;
  newDevice: boolean;
  suspiciousReasons: string[];
  /** The risk policy let the sign-in through on condition of a step-up: its session holds no authentication. */
  stepUpRequired: boolean;
  tokens: TokenPair;
  expiresAt: Date;
}

export interface SessionStarterDeps {
  clock: Clock;
  accessTokens: AccessTokenIssuer;
  lifetime: SessionLifetime;
  /** What each suspicious-login signal does (allow, step_up, refuse). */
  riskPolicy: LoginRiskPolicy;
}

export type SessionStarter = ReturnType<typeof createSessionStarter>;

/**
 * Everything a sign-in does once the person is known, whatever proved it (a code for Login, a
 * password for LoginWithPassword): registers or updates the device (the device that registers the
 * account starts trusted: there is no other to trust it from), refuses a banned or suspended user
 * and a blocked device, runs the suspicious-login checks through the risk policy, creates the
 * session with its first refresh token and its authentication (none when the policy wants a step-up
 * first) and records auth.device.registered, auth.session.created and auth.login. Runs in the
 * caller's transaction in three statements (two when the caller took the user's gate); throwing
 * rolls the whole sign-in back.
 */
export function createSessionStarter(deps: SessionStarterDeps) {
  async function startSession(trx: Kysely<AuthDatabase>, input: StartSessionInput): Promise<StartedSession> {
    const now = deps.clock.now();
    const sessionId = input.sessionId ?? randomUUID();
    const traits = parseUserAgent(input.userAgent);
    const fingerprint = deviceFingerprint(input.deviceId, traits);
    // Shared with other sign-ins of the user, exclusive against a suspension, ban or password reset
    // (store/user-gate-store.ts): none of those can miss the session created here.
    if (!input.userGateHeld) await holdUserGate(trx, input.userId, "shared");
    const facts = await registerDeviceForSignIn(trx, {
      newRecordId: randomUUID(),
      userId: input.userId,
      deviceId: input.deviceId,
      deviceName: input.deviceName,
      ...traits,
      fingerprint,
      userAgent: input.userAgent,
      ip: input.ip,
      network: networkOf(input.ip),
      trustOnInsert: input.newUser,
      now,
    });

    const restricted = restrictionError(facts.restriction, now);
    if (restricted) throw restricted;
    const assessment = assessSignIn(
      {
        newUser: input.newUser,
        newDevice: facts.newDevice,
        trustedDevice: facts.trusted,
        blockedDevice: facts.blocked,
        knownIp: facts.knownIp,
        knownNetwork: facts.knownNetwork,
        recentFailures: input.recentFailures,
      },
      deps.riskPolicy,
    );
    if (assessment.refusal === "device_blocked") {
      throw new PermissionDeniedError(
        "this device is blocked for this account; unblock it from another device",
        "DEVICE_BLOCKED",
      );
    }
    if (assessment.refusal === "suspicious")
      throw new SuspiciousSignInError(refusedSignals(assessment, deps.riskPolicy));
    const authentication: SessionAuthentication | null = assessment.stepUpRequired
      ? null
      : { time: now, methods: [authMethodOf(input.method)] };

    const identifiers = facts.identifiers.map(
      (id): UserIdentifier => ({ type: id.type === "phone" ? "phone" : "email", identifier: id.identifier }),
    );
    const absoluteExpiresAt = absoluteEndOf(now, deps.lifetime);
    const access = deps.accessTokens.issue(
      { userId: input.userId, sessionId, deviceId: input.deviceId, identifiers, authentication },
      now,
      absoluteExpiresAt,
    );
    const refresh = newOpaqueToken("refresh");
    const expiresAt = refreshTokenExpiry(now, absoluteExpiresAt, deps.lifetime);
    const eventFacts = { ...input, sessionId };
    await insertSession(
      trx,
      {
        id: sessionId,
        userId: input.userId,
        deviceRecordId: facts.deviceRecordId,
        deviceId: input.deviceId,
        deviceName: input.deviceName,
        method: input.method,
        ip: input.ip,
        userAgent: input.userAgent,
        now,
        expiresAt,
        absoluteExpiresAt,
        accessExpiresAt: access.expiresAt,
        refreshTokenHash: refresh.hash,
        authTime: authentication?.time ?? null,
        authMethods: authentication?.methods ?? [],
        signInIdentifier: input.identifier,
      },
      [
        ...(input.extraEvents ?? []),
        ...(facts.newDevice
          ? [
              deviceRegisteredEvent(now, {
                ...eventFacts,
                deviceRecordId: facts.deviceRecordId,
                traits,
                fingerprint,
                trusted: facts.trusted,
              }),
            ]
          : []),
        sessionCreatedEvent(now, { ...eventFacts, expiresAt }),
        loginEvent(now, {
          ...eventFacts,
          newDevice: facts.newDevice,
          trustedDevice: facts.trusted,
          suspiciousReasons: assessment.reasons,
          stepUpRequired: assessment.stepUpRequired,
        }),
      ],
    );
    return {
      sessionId,
      deviceRecordId: facts.deviceRecordId,
      newDevice: facts.newDevice,
      suspiciousReasons: assessment.reasons,
      stepUpRequired: assessment.stepUpRequired,
      tokens: {
        accessToken: access.token,
        refreshToken: refresh.token,
        tokenType: "Bearer",
        expiresIn: access.expiresIn,
      },
      expiresAt,
    };
  }

  return { startSession };
}
