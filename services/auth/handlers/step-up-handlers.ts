import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import { requirePrincipal } from "../../shared/auth/principal.js";
import { InvalidArgumentError } from "../../shared/errors/domain-errors.js";
import { requestInfoKey } from "../../shared/server/request-info.js";
import type { StepUp, StepUpProof } from "../domain/step-up.js";

export function createStepUpHandlers(deps: { stepUp: StepUp }): Pick<ServiceImpl<typeof AuthService>, "stepUp"> {
  return {
    async stepUp(request, context) {
      const me = requirePrincipal(context);
      const caller = context.values.get(requestInfoKey);
      const result = await deps.stepUp.stepUp(
        { userId: me.userId, sessionId: me.sessionId, ip: caller.ip, userAgent: caller.userAgent },
        proofFrom(request.proof),
      );
      return {
        accessToken: result.accessToken,
        tokenType: result.tokenType,
        expiresIn: BigInt(result.expiresIn),
        authTime: timestampFromDate(result.authentication.time),
        amr: result.authentication.methods,
      };
    },
  };
}

type ProofField =
  | { case: "verificationToken"; value: string }
  | { case: "password"; value: string }
  | { case: undefined; value?: undefined };

function proofFrom(proof: ProofField): StepUpProof {
  switch (proof.case) {
    case "verificationToken":
      return { kind: "otp", verificationToken: proof.value };
    case "password":
      return { kind: "password", password: proof.value };
    default:
      // The .proto rule (oneof required) refuses this first; this is the last line.
      throw new InvalidArgumentError("proof", "proof: give a verification_token or a password");
  }
}
