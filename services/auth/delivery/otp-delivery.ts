import type { IdentifierType } from "../../shared/identifiers.js";
import type { OtpPurpose } from "../domain/otp-purpose.js";

export interface OtpDeliveryRequest {
  /** The code's id: lets a delivery channel de-duplicate a retried hand-over. */
  otpId: string;
  identifierType: IdentifierType;
  identifier: string;
  code: string;
  purpose: OtpPurpose;
  expiresAt: Date;
}

/**
 * How a one-time code leaves the service. It is called inside the transaction that stores the code,
 * so a code that cannot be handed over is never issued (the caller gets UNAVAILABLE and may retry).
 * An SMS or email provider is one more implementation of this interface.
 */
export interface OtpDelivery {
  readonly channelName: string;
  deliver(request: OtpDeliveryRequest): Promise<void>;
}
