// The sign-in flow (docs/product.md), as a client runs it: SendOtp, read the code from the captured
// delivery, VerifyOtp, Login, and (for a new user) CreateUser with the access token.
import type { Client } from "@connectrpc/connect";
import { IdentifierType, OtpPurpose, type AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import type { UserService } from "../../../gen/mintcoin/user/v1/user_pb.js";
import type { capturingDelivery } from "../../fixtures/services.js";

export type CapturingDelivery = ReturnType<typeof capturingDelivery>;

export interface SignedIn {
  identifier: string;
  deviceId: string;
  userId: string;
  sessionId: string;
  accessToken: string;
  refreshToken: string;
  newUser: boolean;
}

export function identifierTypeOf(identifier: string): IdentifierType {
  return identifier.includes("@") ? IdentifierType.EMAIL : IdentifierType.PHONE;
}

/** Proves `identifier` with a code for `purpose` and returns the verification token. */
export async function verifyIdentifier(
  auth: Client<typeof AuthService>,
  delivery: CapturingDelivery,
  identifier: string,
  purpose: OtpPurpose = OtpPurpose.LOGIN,
  deviceId = "device-1",
): Promise<string> {
  const identifierType = identifierTypeOf(identifier);
  const { challengeId } = await auth.sendOtp({ identifier, identifierType, purpose, deviceId });
  const code = delivery.lastCode(normalized(identifier));
  const verified = await auth.verifyOtp({ identifier, identifierType, code, purpose, challengeId });
  return verified.verificationToken;
}

export async function signIn(
  auth: Client<typeof AuthService>,
  delivery: CapturingDelivery,
  identifier: string,
  deviceId = "device-1",
): Promise<SignedIn> {
  const verificationToken = await verifyIdentifier(auth, delivery, identifier, OtpPurpose.LOGIN, deviceId);
  const login = await auth.login({ verificationToken, deviceId, deviceName: "reliability test" });
  return {
    identifier,
    deviceId,
    userId: login.userId,
    sessionId: login.sessionId,
    accessToken: login.tokens!.accessToken,
    refreshToken: login.tokens!.refreshToken,
    newUser: login.newUser,
  };
}

/** Signs in and creates the profile when the user is new; returns the session. */
export async function signUp(
  auth: Client<typeof AuthService>,
  users: Client<typeof UserService>,
  delivery: CapturingDelivery,
  identifier: string,
  username: string,
  deviceId = "device-1",
): Promise<SignedIn> {
  const session = await signIn(auth, delivery, identifier, deviceId);
  if (session.newUser) {
    await users.createUser(
      { username, name: `Test ${username}` },
      { headers: { authorization: `Bearer ${session.accessToken}` } },
    );
  }
  return session;
}

/** Identifiers as the service normalises them (tests use E.164 phones and lower-case emails). */
function normalized(identifier: string): string {
  return identifier.includes("@") ? identifier.trim().toLowerCase() : identifier.replace(/[^+\d]/g, "");
}

export function bearer(token: string): { headers: { authorization: string } } {
  return { headers: { authorization: `Bearer ${token}` } };
}
