import type { Logger } from "../../shared/logging.js";
import type { OtpDelivery } from "./otp-delivery.js";

/**
 * Writes the code to the log: for a developer's machine, where there is no SMS or email provider.
 * This is the one place a code is logged, on purpose.
 */
export function createLogDelivery(logger: Logger): OtpDelivery {
  return {
    channelName: "log",
    async deliver(request) {
      logger.warn(
        {
          identifierType: request.identifierType,
          purpose: request.purpose,
          expiresAt: request.expiresAt.toISOString(),
        },
        `one-time code for ${request.identifier}: ${request.code} (OTP_DELIVERY=log; use nats in production)`,
      );
    },
  };
}
