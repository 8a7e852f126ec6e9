import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type ValidateTokenResponse, ValidateTokenResponseSchema } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import { frozenForReuse } from "../../shared/server/reusable-messages.js";
import type { TokenValidation } from "../domain/session-service.js";

/** Sessions (or service accounts) whose last answer is kept; the least recently asked go first. */
const maxAnswers = 1_000;

/**
 * ValidateToken's answers for valid tokens. A caller validates the same token again and again, and
 * making and encoding the answer through protobuf-es's reflection costs more than the rest of the
 * call: the last answer of each session (or service account) is kept, frozen, and the grpc-js
 * adapter encodes it once (reusable-messages.ts). It is reused only for a validation equal to the
 * one it was made from, field by field, so it says nothing the token does not say; whether the token
 * is still valid is decided on every call, before this is asked. No token is kept.
 */
export function createValidateTokenAnswers() {
  const answers = new Map<string, { validation: TokenValidation; response: ValidateTokenResponse }>();

  return (validation: TokenValidation): ValidateTokenResponse => {
    const key = validation.sessionId === "" ? `client ${validation.clientId}` : validation.sessionId;
    const kept = answers.get(key);
    answers.delete(key);
    const response =
      kept !== undefined && sameValidation(kept.validation, validation) ? kept.response : responseOf(validation);
    if (answers.size >= maxAnswers) {
      const oldest = answers.keys().next();
      if (!oldest.done) answers.delete(oldest.value);
    }
    answers.set(key, { validation, response });
    return response;
  };
}

function responseOf(result: TokenValidation): ValidateTokenResponse {
  return frozenForReuse(
    create(ValidateTokenResponseSchema, {
      valid: true,
      userId: result.userId,
      sessionId: result.sessionId,
      deviceId: result.deviceId,
      expiresAt: timestampFromDate(result.expiresAt),
      roles: result.roles,
      authTime: result.authTime && timestampFromDate(result.authTime),
      amr: result.amr,
      clientId: result.clientId,
      scopes: result.scopes,
    }),
  );
}

function sameValidation(a: TokenValidation, b: TokenValidation): boolean {
  return (
    a.userId === b.userId &&
    a.sessionId === b.sessionId &&
    a.deviceId === b.deviceId &&
    a.expiresAt.getTime() === b.expiresAt.getTime() &&
    a.authTime?.getTime() === b.authTime?.getTime() &&
    a.clientId === b.clientId &&
    sameList(a.roles, b.roles) &&
    sameList(a.amr, b.amr) &&
    sameList(a.scopes, b.scopes)
  );
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((item, index) => item === b[index]));
}
