import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import { requestInfoKey } from "../../shared/server/request-info.js";
import type { OtpService } from "../domain/otp-service.js";
import type { OtpVerification } from "../domain/otp-verification.js";
import { identifierTypeFromProto, otpPurposeFromProto } from "../wire.js";

export function createOtpHandlers(deps: {
  otp: OtpService;
  otpVerification: OtpVerification;
}): Pick<ServiceImpl<typeof AuthService>, "sendOtp" | "verifyOtp"> {
  return {
    async sendOtp(request, context) {
      const caller = context.values.get(requestInfoKey);
      const result = await deps.otp.send({
        identifierType: identifierTypeFromProto(request.identifierType),
        identifier: request.identifier,
        purpose: otpPurposeFromProto(request.purpose),
        deviceId: request.deviceId,
        ip: caller.ip,
        userAgent: caller.userAgent,
      });
      return {
        expiresAt: timestampFromDate(result.expiresAt),
        resendAvailableAt: timestampFromDate(result.resendAvailableAt),
        challengeId: result.challengeId,
      };
    },

    async verifyOtp(request, context) {
      const caller = context.values.get(requestInfoKey);
      const result = await deps.otpVerification.verify({
        identifierType: identifierTypeFromProto(request.identifierType),
        identifier: request.identifier,
        purpose: otpPurposeFromProto(request.purpose),
        code: request.code,
        challengeId: request.challengeId,
        ip: caller.ip,
        userAgent: caller.userAgent,
      });
      return { verificationToken: result.verificationToken, expiresAt: timestampFromDate(result.expiresAt) };
    },
  };
}
