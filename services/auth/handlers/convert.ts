import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { SessionView } from "../domain/session-service.js";
import type { TokenPair as DomainTokenPair } from "../domain/sessions.js";

// Conversions only the handlers need; those the events share are in ../wire.ts.

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
