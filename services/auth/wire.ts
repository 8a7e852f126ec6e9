import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { InvalidArgumentError } from "../shared/errors/domain-errors.js";
import type { IdentifierType as DomainIdentifierType } from "../shared/identifiers.js";
import type { OtpPurpose as DomainOtpPurpose } from "./domain/otp-purpose.js";

// Conversions between the wire's enums and the domain's words, for the handlers, the events and
// the OTP delivery alike. The .proto rules already refuse UNSPECIFIED and unknown numbers; the
// throws here are the last line, not the first.

const identifierTypes = new Map<IdentifierType, DomainIdentifierType>([
  [IdentifierType.PHONE, "phone"],
  [IdentifierType.EMAIL, "email"],
]);

const purposes = new Map<OtpPurpose, DomainOtpPurpose>([
  [OtpPurpose.LOGIN, "login"],
  [OtpPurpose.PHONE_VERIFICATION, "phone_verification"],
  [OtpPurpose.EMAIL_VERIFICATION, "email_verification"],
  [OtpPurpose.PASSWORD_RESET, "password_reset"],
  [OtpPurpose.STEP_UP, "step_up"],
]);

export function identifierTypeFromProto(value: IdentifierType): DomainIdentifierType {
  const type = identifierTypes.get(value);
  if (!type) throw new InvalidArgumentError("identifier_type", "identifier_type: must be PHONE or EMAIL");
  return type;
}

export function identifierTypeToProto(value: DomainIdentifierType): IdentifierType {
  return value === "phone" ? IdentifierType.PHONE : IdentifierType.EMAIL;
}

export function otpPurposeFromProto(value: OtpPurpose): DomainOtpPurpose {
  const purpose = purposes.get(value);
  if (!purpose)
    throw new InvalidArgumentError("purpose", "purpose: must be one of the OtpPurpose values other than UNSPECIFIED");
  return purpose;
}

export function otpPurposeToProto(value: DomainOtpPurpose): OtpPurpose {
  for (const [proto, domain] of purposes) if (domain === value) return proto;
  return OtpPurpose.UNSPECIFIED;
}
