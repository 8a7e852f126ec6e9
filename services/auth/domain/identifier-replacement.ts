import { requireRecentAuthentication } from "../../shared/auth/recent-authentication.js";
import type { Clock } from "../../shared/clock.js";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  PermissionDeniedError,
} from "../../shared/errors/domain-errors.js";
import type { Transact } from "../../shared/outbox/transact.js";
import { identifierReplacedEvent } from "../events/identifier-events.js";
import { replaceIdentity } from "../store/identity-link-store.js";
import { insertOutboxRows } from "../../shared/outbox/outbox-store.js";
import type { AuthDatabase } from "../store/schema.js";
import { consumeVerificationProof } from "../store/verification-proof-store.js";
import type { IdentifierType } from "../../shared/identifiers.js";
import type { LinkCaller } from "./identifier-linking.js";
import { hashOpaqueToken, looksLikeToken } from "./opaque-tokens.js";

export interface ReplacedIdentifier {
  identifierType: IdentifierType;
  identifier: string;
  /** The released identifier (equal to `identifier` when nothing changed). */
  previousIdentifier: string;
}

const replacePurposes = ["phone_verification", "email_verification"] as const;

const invalidToken = () =>
  new PermissionDeniedError(
    "replacing an identifier needs a fresh phone or email verification token for the new one; verify a code again",
    "VERIFICATION_TOKEN_INVALID",
  );

export type IdentifierReplacement = ReturnType<typeof createIdentifierReplacement>;

/**
 * ReplaceIdentifier: the signed-in user, recently authenticated, swaps their phone or email for a
 * new one they proved. The old identifier is released in the same transaction (it signs in to no
 * account any more), the token is used up, and auth.identifier.replaced is recorded; any refusal
 * rolls all of it back, so the token stays usable. Sessions are kept: they belong to the person,
 * who just proved themselves again, not to the identifier.
 */
export function createIdentifierReplacement(deps: {
  transact: Transact<AuthDatabase>;
  clock: Clock;
  stepUpMaxAgeSeconds: number;
}) {
  async function replace(caller: LinkCaller, verificationToken: string): Promise<ReplacedIdentifier> {
    requireRecentAuthentication(caller, { maxAgeSeconds: deps.stepUpMaxAgeSeconds, now: deps.clock.now() });
    if (!looksLikeToken("verification", verificationToken)) throw invalidToken();
    const tokenHash = hashOpaqueToken(verificationToken);
    return deps.transact(async (trx) => {
      const now = deps.clock.now();
      const proof = await consumeVerificationProof(trx, tokenHash, replacePurposes, now);
      if (!proof) throw invalidToken();
      const identifierType: IdentifierType = proof.identifierType === "phone" ? "phone" : "email";
      const outcome = await replaceIdentity(trx, {
        userId: caller.userId,
        identifier: proof.identifier,
        identifierType,
        now,
      });
      switch (outcome.kind) {
        case "replaced": {
          const replaced = { identifierType, identifier: proof.identifier, previousIdentifier: outcome.previous };
          await insertOutboxRows(trx, [identifierReplacedEvent(now, { ...caller, ...replaced })]);
          return replaced;
        }
        case "unchanged":
          return { identifierType, identifier: proof.identifier, previousIdentifier: proof.identifier };
        case "not_held":
          throw new FailedPreconditionError(
            `your account has no ${identifierType} to replace; link one with LinkIdentifier`,
            "IDENTIFIER_NOT_HELD",
          );
        case "taken":
          throw new AlreadyExistsError(
            "identifier",
            `this ${identifierType} belongs to another account`,
            "IDENTIFIER_TAKEN",
          );
      }
    });
  }

  return { replace };
}
