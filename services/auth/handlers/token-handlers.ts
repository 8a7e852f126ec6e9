import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import type { SessionService } from "../domain/session-service.js";
import { createValidateTokenAnswers } from "./validate-token-answers.js";

export function createTokenHandlers(deps: {
  sessionService: SessionService;
}): Pick<ServiceImpl<typeof AuthService>, "validateToken"> {
  const answerFor = createValidateTokenAnswers();
  return {
    async validateToken(request) {
      const result = await deps.sessionService.validate(request.accessToken);
      // An invalid token is an answer (valid = false, the rest empty), not an error.
      if (!result) return { valid: false };
      return answerFor(result);
    },
  };
}
