import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "../../shared/errors/domain-errors.js";
import { IdentifierType, OtpPurpose } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import type { IdentifierType as DomainIdentifierType } from "../domain/identifiers.js";
import type { OtpPurpose as DomainOtpPurpose } from "../domain/otp-purpose.js";
import type { SessionView } from "../domain/session-service.js";
import type { TokenPair as DomainTokenPair } from "../domain/session-starter.js";

// Conversions between the wire's enums and the domain's words. The .proto rules already refuse
// UNSPECIFIED and unknown numbers; the throws here are the last line, not the first.

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

export function tokenPairToProto(tokens: DomainTokenPair) {
  return {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    tokenType: tokens.tokenType,
    expiresIn: BigInt(tokens.expiresIn),
  };
}

export function sessionToProto(session: SessionView) {
  return {
    id: session.id,
    deviceId: session.deviceId,
    deviceName: session.deviceName,
    ipAddress: session.ip,
    userAgent: session.userAgent,
    createdAt: timestampFromDate(session.createdAt),
    lastUsedAt: timestampFromDate(session.lastUsedAt),
    expiresAt: timestampFromDate(session.expiresAt),
    current: session.current,
  };
}
