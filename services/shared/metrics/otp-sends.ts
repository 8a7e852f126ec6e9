import type { IdentifierType } from "../identifiers.js";
import type { ServiceMetrics } from "./service-metrics.js";

/** What counting needs of the auth service's OTP delivery port (shared code imports no service). */
interface CountableDelivery {
  deliver(request: { identifierType: IdentifierType }): Promise<void>;
}

/**
 * Wraps an OTP delivery so that every code it hands over is counted by channel: sms for phone
 * numbers, email for addresses. A delivery that throws is not counted (the code was not issued).
 * Everything else (channelName, a test's captured codes) is still read from the wrapped delivery.
 */
export function countOtpSends<D extends CountableDelivery>(delivery: D, metrics: ServiceMetrics): D {
  const counted: CountableDelivery = Object.create(delivery) as CountableDelivery;
  counted.deliver = async (request) => {
    await delivery.deliver(request);
    metrics.otpSent.inc({ channel: request.identifierType === "phone" ? "sms" : "email" });
  };
  return counted as D;
}
