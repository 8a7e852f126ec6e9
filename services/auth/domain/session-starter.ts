import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Clock } from "../../shared/clock.js";
import { PermissionDeniedError } from "../../shared/errors/domain-errors.js";
import type { IdentifierType } from "../../shared/identifiers.js";
import type { OutboxRow } from "../../shared/outbox/outbox-rows.js";
import { deviceRegisteredEvent, loginEvent } from "../events/login-events.js";
import { sessionCreatedEvent } from "../events/session-events.js";
import {
  registerDeviceForSignIn,
  startSessionIfAsGuessed,
  type DeviceSighting,
  type SignInFactsRow,
} from "../store/device-store.js";
import type { AuthDatabase } from "../store/schema.js";
import { insertSession, type NewSession } from "../store/session-store.js";
import { holdUserGate } from "../store/user-gate-store.js";
import type { AccessTokenIssuer, UserIdentifier } from "./access-tokens.js";
import {
  assessSignIn,
  refusedSignals,
  SuspiciousSignInError,
  type LoginRiskPolicy,
  type SignInAssessment,
  type SignInFacts,
} from "./login-risk.js";
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
  /**
   * The user's identifiers, when the caller read them already (for the access token): the sign-in
   * is then planned before the device statement and written with it when the facts bear the plan
   * out (one statement fewer).
   */
  knownIdentifiers?: UserIdentifier[];
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

interface SignInContext {
  input: StartSessionInput;
  now: Date;
  sessionId: string;
  traits: ReturnType<typeof parseUserAgent>;
  fingerprint: string;
}

interface SignInPlan {
  assessment: SignInAssessment;
  access: ReturnType<AccessTokenIssuer["issue"]>;
  refresh: ReturnType<typeof newOpaqueToken>;
  session: Omit<NewSession, "deviceRecordId">;
  events: OutboxRow[];
  started: StartedSession;
}

function signInFactsOf(input: StartSessionInput, facts: SignInFactsRow): SignInFacts {
  return {
    newUser: input.newUser,
    newDevice: facts.newDevice,
    trustedDevice: facts.trusted,
    blockedDevice: facts.blocked,
    knownIp: facts.knownIp,
    knownNetwork: facts.knownNetwork,
    recentFailures: input.recentFailures,
  };
}

function identifiersOf(facts: SignInFactsRow): UserIdentifier[] {
  return facts.identifiers.map(
    (id): UserIdentifier => ({ type: id.type === "phone" ? "phone" : "email", identifier: id.identifier }),
  );
}

/**
 * Everything a sign-in does once the person is known, whatever proved it (a code for Login, a
 * password for LoginWithPassword): registers or updates the device (the device that registers the
 * account starts trusted: there is no other to trust it from), refuses a banned or suspended user
 * and a blocked device, runs the suspicious-login checks through the risk policy, creates the
 * session with its first refresh token and its authentication (none when the policy wants a step-up
 * first) and records auth.device.registered, auth.session.created and auth.login. Runs in the
 * caller's transaction in three statements: the user's gate, the device, the session (the gate not
 * when the caller took it; device and session in one when the caller knows the user's identifiers
 * and the sign-in is the usual one); throwing rolls the whole sign-in back.
 */
export function createSessionStarter(deps: SessionStarterDeps) {
  async function startSession(trx: Kysely<AuthDatabase>, input: StartSessionInput): Promise<StartedSession> {
    const now = deps.clock.now();
    const sessionId = input.sessionId ?? randomUUID();
    const traits = parseUserAgent(input.userAgent);
    const fingerprint = deviceFingerprint(input.deviceId, traits);
    const context: SignInContext = { input, now, sessionId, traits, fingerprint };
    // Shared with other sign-ins of the user, exclusive against a suspension, ban or password reset
    // (store/user-gate-store.ts): none of those can miss the session created here.
    if (!input.userGateHeld) await holdUserGate(trx, input.userId, "shared");
    const sighting: DeviceSighting = {
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
    };

    let facts: SignInFactsRow | undefined;
    const guessed = input.knownIdentifiers && guessSignIn(context, sighting, input.knownIdentifiers);
    if (guessed) {
      // One statement instead of two when the sign-in is the usual one (a known device on a known
      // network, or a first sign-in): the plan is made on a guess of the facts and written only if
      // the facts bear it out (startSessionIfAsGuessed); otherwise the device is registered and
      // the sign-in is decided below on the facts, as it would have been.
      const outcome = await startSessionIfAsGuessed(trx, sighting, guessed.write);
      if (outcome.started) return { ...guessed.started(outcome.trusted), deviceRecordId: outcome.deviceRecordId };
      facts = outcome;
    }
    facts ??= await registerDeviceForSignIn(trx, sighting);

    const restricted = restrictionError(facts.restriction, now);
    if (restricted) throw restricted;
    const signIn = planSignIn(context, signInFactsOf(input, facts), facts.deviceRecordId, identifiersOf(facts));
    const { assessment } = signIn;
    if (assessment.refusal === "device_blocked") {
      throw new PermissionDeniedError(
        "this device is blocked for this account; unblock it from another device",
        "DEVICE_BLOCKED",
      );
    }
    if (assessment.refusal === "suspicious")
      throw new SuspiciousSignInError(refusedSignals(assessment, deps.riskPolicy));
    await insertSession(trx, { ...signIn.session, deviceRecordId: facts.deviceRecordId }, signIn.events);
    return signIn.started;
  }

  /**
   * The plan of the usual sign-in, for startSessionIfAsGuessed: the device as new as the user (a
   * first sign-in registers its device; later ones come from a known device), not blocked, and
   * either trusted or seen before from this IP and network, so that no novelty signal is raised; its
   * trust is the one thing left open, and only auth.login names it. Undefined when even that sign-in
   * would be refused (the failure count's signal is configured to refuse).
   */
  function guessSignIn(context: SignInContext, sighting: DeviceSighting, identifiers: UserIdentifier[]) {
    const { input } = context;
    const newDevice = input.newUser;
    const deviceRecordId = newDevice ? sighting.newRecordId : undefined;
    const facts = (trustedDevice: boolean): SignInFacts => ({
      newUser: input.newUser,
      newDevice,
      trustedDevice,
      blockedDevice: false,
      knownIp: true,
      knownNetwork: true,
      recentFailures: input.recentFailures,
    });
    const trusted = planSignIn(context, facts(true), deviceRecordId, identifiers);
    if (trusted.assessment.refusal) return undefined;
    const untrusted = planSignIn(context, facts(false), deviceRecordId, identifiers, trusted);
    const common = trusted.events.filter((event) => event.subject !== "auth.login");
    const loginOf = (plan: SignInPlan) => plan.events.filter((event) => event.subject === "auth.login");
    return {
      write: {
        newDevice,
        session: trusted.session,
        events: common,
        ifTrusted: loginOf(trusted),
        // A device a sign-in registers is trusted only on a first sign-in, which registers it trusted.
        ifUntrusted: newDevice ? [] : loginOf(untrusted),
      },
      started: (deviceTrusted: boolean): StartedSession => (deviceTrusted ? trusted : untrusted).started,
    };
  }

  /**
   * What a sign-in writes and answers, given its facts: the assessment, the tokens, the session row
   * and the events. `reuse` shares the tokens of a plan for the same sign-in (the guess's other trust).
   */
  function planSignIn(
    context: SignInContext,
    facts: SignInFacts,
    deviceRecordId: string | undefined,
    identifiers: UserIdentifier[],
    reuse?: SignInPlan,
  ): SignInPlan {
    const { input, now, sessionId, traits, fingerprint } = context;
    const assessment = assessSignIn(facts, deps.riskPolicy);
    const authentication: SessionAuthentication | null = assessment.stepUpRequired
      ? null
      : { time: now, methods: [authMethodOf(input.method)] };
    const absoluteExpiresAt = absoluteEndOf(now, deps.lifetime);
    const access =
      reuse?.access ??
      deps.accessTokens.issue(
        { userId: input.userId, sessionId, deviceId: input.deviceId, identifiers, authentication },
        now,
        absoluteExpiresAt,
      );
    const refresh = reuse?.refresh ?? newOpaqueToken("refresh");
    const expiresAt = refreshTokenExpiry(now, absoluteExpiresAt, deps.lifetime);
    const eventFacts = { ...input, sessionId };
    const recordId = deviceRecordId ?? "";
    return {
      assessment,
      access,
      refresh,
      session: {
        id: sessionId,
        userId: input.userId,
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
      events: [
        ...(input.extraEvents ?? []),
        ...(facts.newDevice
          ? [
              deviceRegisteredEvent(now, {
                ...eventFacts,
                deviceRecordId: recordId,
                traits,
                fingerprint,
                trusted: facts.trustedDevice,
              }),
            ]
          : []),
        sessionCreatedEvent(now, { ...eventFacts, expiresAt }),
        loginEvent(now, {
          ...eventFacts,
          newDevice: facts.newDevice,
          trustedDevice: facts.trustedDevice,
          suspiciousReasons: assessment.reasons,
          stepUpRequired: assessment.stepUpRequired,
        }),
      ],
      started: {
        sessionId,
        deviceRecordId: recordId,
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
      },
    };
  }

  return { startSession };
}
