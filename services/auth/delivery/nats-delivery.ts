import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { OtpDeliveryRequestSchema } from "../../../gen/mintcoin/events/v1/notify_pb.js";
import { UnavailableError } from "../../shared/errors/domain-errors.js";
import { eventHeaders } from "../../shared/events/jetstream-publisher.js";
import type { NatsLink } from "../../shared/events/nats-link.js";
import { identifierTypeToProto, otpPurposeToProto } from "../wire.js";
import type { OtpDelivery } from "./otp-delivery.js";

/**
 * Hands the code to the notification service through JetStream (`notify.otp.sms` / `notify.otp.email`,
 * a stream that keeps messages only minutes). Published directly rather than through the outbox, so
 * the code is never stored in the database in the clear; a failed publish fails the request.
 */
export function createNatsDelivery(nats: NatsLink, timeoutMs = 3_000): OtpDelivery {
  return {
    channelName: "nats",
    async deliver(request) {
      if (!nats.isConnected()) {
        throw new UnavailableError("codes cannot be sent right now; retry shortly", "OTP_DELIVERY_UNAVAILABLE");
      }
      const { publish } = await nats.ready;
      const message = create(OtpDeliveryRequestSchema, {
        identifierType: identifierTypeToProto(request.identifierType),
        identifier: request.identifier,
        code: request.code,
        purpose: otpPurposeToProto(request.purpose),
        expiresAt: timestampFromDate(request.expiresAt),
      });
      const subject = request.identifierType === "phone" ? "notify.otp.sms" : "notify.otp.email";
      try {
        await publish(subject, toBinary(OtpDeliveryRequestSchema, message), {
          msgId: request.otpId,
          headers: eventHeaders(OtpDeliveryRequestSchema.typeName),
          timeoutMs,
        });
      } catch (error) {
        throw new UnavailableError("codes cannot be sent right now; retry shortly", "OTP_DELIVERY_UNAVAILABLE", {
          cause: error,
        });
      }
    },
  };
}
