import { requireRecentAuthentication } from "../../shared/auth/recent-authentication.js";
import type { Clock } from "../../shared/clock.js";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  PermissionDeniedError,
} from "../../shared/errors/domain-errors.js";
import type { IdentifierType } from "../../shared/identifiers.js";
import { insertOutboxRows } from "../../shared/outbox/outbox-store.js";
import type { Transact } from "../../shared/outbox/transact.js";
import { identifierLinkedEvent } from "../events/identifier-events.js";
import { linkIdentity } from "../store/identity-link-store.js";
import type { AuthDatabase } from "../store/schema.js";
import { consumeVerificationProof } from "../store/verification-proof-store.js";
import { hashOpaqueToken, looksLikeToken } from "./opaque-tokens.js";
import type { RequestOrigin } from "./request-origin.js";

export interface LinkCaller extends RequestOrigin {
  userId: string;
  /** Device id of the calling session, for the event. */
  deviceId: string;
  /** The session's last active authentication (the access token's auth_time): must be recent. */
  authTime: Date | undefined;
}

export interface LinkedIdentifier {
  identifierType: IdentifierType;
  identifier: string;
}

const linkPurposes = ["phone_verification", "email_verification"] as const;

const invalidToken = () =>
  new PermissionDeniedError(
    "linking needs a fresh phone or email verification token; verify a code again",
    "VERIFICATION_TOKEN_INVALID",
  );

export type IdentifierLinking = ReturnType<typeof createIdentifierLinking>;

/**
 * LinkIdentifier: a second identifier the signed-in user proved becomes theirs, once they have
 * authenticated recently (checked first, so a refusal leaves the token unused). The token is used up
 * and the identity written in one transaction; any refusal rolls both back, so the token stays
 * usable. A link announces auth.identifier.linked (the user service marks the identifier verified);
 * linking an identifier the user already holds succeeds and announces nothing.
 */
export function createIdentifierLinking(deps: {
  transact: Transact<AuthDatabase>;
  clock: Clock;
  stepUpMaxAgeSeconds: number;
}) {
  async function link(caller: LinkCaller, verificationToken: string): Promise<LinkedIdentifier> {
    requireRecentAuthentication(caller, { maxAgeSeconds: deps.stepUpMaxAgeSeconds, now: deps.clock.now() });
    if (!looksLikeToken("verification", verificationToken)) throw invalidToken();
    const tokenHash = hashOpaqueToken(verificationToken);
    return deps.transact(async (trx) => {
      const now = deps.clock.now();
      const proof = await consumeVerificationProof(trx, tokenHash, linkPurposes, now);
      if (!proof) throw invalidToken();
      const identifierType: IdentifierType = proof.identifierType === "phone" ? "phone" : "email";
      const linked = { identifierType, identifier: proof.identifier };
      const outcome = await linkIdentity(trx, {
        userId: caller.userId,
        identifier: proof.identifier,
        identifierType,
        now,
      });
      switch (outcome) {
        case "linked":
          await insertOutboxRows(trx, [identifierLinkedEvent(now, { ...caller, ...linked })]);
          return linked;
        case "already_yours":
          return linked;
        case "taken":
          throw new AlreadyExistsError(
            "identifier",
            `this ${identifierType} belongs to another account`,
            "IDENTIFIER_TAKEN",
          );
        case "type_taken":
          throw new FailedPreconditionError(
            `your account already has another ${identifierType}; an account holds at most one phone and one email`,
            "IDENTIFIER_TYPE_TAKEN",
          );
      }
    });
  }

  return { link };
}
