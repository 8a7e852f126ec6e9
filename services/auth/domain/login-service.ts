import { randomUUID } from "node:crypto";
import type { Clock } from "../../shared/clock.js";
import { UnauthenticatedError } from "../../shared/errors/domain-errors.js";
import type { Transact } from "../../shared/outbox/transact.js";
import { userRegisteredEvent } from "../events/login-events.js";
import type { AuthDatabase } from "../store/schema.js";
import { consumeLoginToken } from "../store/verification-token-store.js";
import { hashOpaqueToken, looksLikeToken } from "./opaque-tokens.js";
import type { UserIdentifier } from "./access-tokens.js";
import type { SessionStarter } from "./session-starter.js";
import type { TokenPair } from "./sessions.js";

export interface LoginInput {
  verificationToken: string;
  deviceId: string;
  deviceName: string;
  ip: string;
  userAgent: string;
}

export interface LoginResult {
  tokens: TokenPair;
  userId: string;
  sessionId: string;
  newUser: boolean;
  /** The sign-in needs a step-up before sensitive actions (the risk policy's "step_up"). */
  stepUpRequired: boolean;
}

export type LoginService = ReturnType<typeof createLoginService>;

export const invalidVerificationToken = () =>
  new UnauthenticatedError(
    "the verification token is unknown, expired, already used or not for sign-in; verify a code again",
    "VERIFICATION_TOKEN_INVALID",
  );

/**
 * Login: one transaction of two statements (use up the token, find or mint the user, take the
 * user's gate and read the user's identifiers; register the device and create the session with its
 * events when the sign-in is the usual one, session-starter.ts), three otherwise (the session apart).
 * A refusal rolls it all back, so the verification token can still be used, e.g. from an unblocked
 * device.
 */
export function createLoginService(deps: { transact: Transact<AuthDatabase>; clock: Clock; sessions: SessionStarter }) {
  async function login(input: LoginInput): Promise<LoginResult> {
    if (!looksLikeToken("verification", input.verificationToken)) throw invalidVerificationToken();
    const tokenHash = hashOpaqueToken(input.verificationToken);
    return deps.transact(async (trx) => {
      const now = deps.clock.now();
      const identity = await consumeLoginToken(trx, tokenHash, randomUUID(), now);
      if (!identity) throw invalidVerificationToken();
      const identifierType = identity.identifierType === "phone" ? "phone" : "email";
      const sessionId = randomUUID();
      const started = await deps.sessions.startSession(trx, {
        userId: identity.userId,
        newUser: identity.newUser,
        method: "otp",
        identifier: identity.identifier,
        identifierType,
        deviceId: input.deviceId,
        deviceName: input.deviceName,
        ip: input.ip,
        userAgent: input.userAgent,
        recentFailures: identity.priorFailures,
        userGateHeld: identity.userGateHeld,
        knownIdentifiers: identity.identifiers?.map(
          (id): UserIdentifier => ({ type: id.type === "phone" ? "phone" : "email", identifier: id.identifier }),
        ),
        sessionId,
        extraEvents: identity.newUser
          ? [
              userRegisteredEvent(now, {
                ...input,
                userId: identity.userId,
                sessionId,
                identifierType,
                identifier: identity.identifier,
              }),
            ]
          : [],
      });
      return {
        tokens: started.tokens,
        userId: identity.userId,
        sessionId,
        newUser: identity.newUser,
        stepUpRequired: started.stepUpRequired,
      };
    });
  }

  return { login };
}
