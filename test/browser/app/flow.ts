import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { IdentifierType } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import type { Clients } from "./clients.js";

/** A code that SendOtp accepted: what the code screen needs to verify it and offer a resend. */
export interface SentCode {
  identifier: string;
  identifierType: IdentifierType;
  expiresAt: Timestamp | undefined;
  resendAvailableAt: Timestamp | undefined;
  /** Names the code for VerifyOtp, so that nobody else's guesses can use up its attempts. */
  challengeId: string;
}

/** How screens move the person along; main.ts implements it, screens only call it. */
export interface Flow {
  readonly clients: Clients;
  /** The first screen; `notice` says why they are here again (signed out, session ended). */
  toStart(notice?: string): void;
  toCode(sent: SentCode): void;
  /** After Login: a new user creates a profile first, a returning one sees it. */
  afterSignIn(login: { newUser: boolean }): Promise<void>;
  toProfileForm(): void;
  toProfile(): Promise<void>;
}
