import type { Migration } from "kysely";
import { outboxMigrations } from "../../shared/outbox/outbox-migration.js";
import * as oneTimeCodes from "./2026-11-26T01-00-00_one-time-codes.js";
import * as otpVerification from "./2026-11-26T03-00-00_otp-verification.js";
import * as signingKeys from "./2026-11-26T03-10-00_signing-keys.js";
import * as identitiesSessions from "./2026-11-26T03-20-00_identities-sessions.js";
import * as passwords from "./2026-11-26T05-00-00_passwords.js";
import * as restrictionOrder from "./2026-11-26T05-10-00_restriction-order.js";
import * as cleanupIndexes from "./2026-11-26T06-00-00_cleanup-indexes.js";
import * as otpChallenges from "./2026-11-26T07-00-00_otp-challenges.js";
import * as otpSendBudgets from "./2026-11-26T07-10-00_otp-send-budgets.js";
import * as stepUp from "./2026-11-27T02-00-00_step-up.js";
import * as sessionAbsoluteEnd from "./2026-12-06T22-00-00_session-absolute-end.js";
import * as userDeleted from "./2026-12-06T23-00-00_user-deleted.js";
import * as encryptedKeys from "./2026-12-08T00-00-00_encrypted-keys.js";
import * as serviceAccounts from "./2026-12-09T00-00-00_service-accounts.js";
import * as signInIdentifier from "./2026-12-09T01-00-00_sign-in-identifier.js";

/** Every migration of the auth database, by name; names sort in the order they were written. */
export const authMigrations: Record<string, Migration> = {
  ...outboxMigrations,
  "2026-11-26T01-00-00_one-time-codes": oneTimeCodes,
  "2026-11-26T03-00-00_otp-verification": otpVerification,
  "2026-11-26T03-10-00_signing-keys": signingKeys,
  "2026-11-26T03-20-00_identities-sessions": identitiesSessions,
  "2026-11-26T05-00-00_passwords": passwords,
  "2026-11-26T05-10-00_restriction-order": restrictionOrder,
  "2026-11-26T06-00-00_cleanup-indexes": cleanupIndexes,
  "2026-11-26T07-00-00_otp-challenges": otpChallenges,
  "2026-11-26T07-10-00_otp-send-budgets": otpSendBudgets,
  "2026-11-27T02-00-00_step-up": stepUp,
  "2026-12-06T22-00-00_session-absolute-end": sessionAbsoluteEnd,
  "2026-12-06T23-00-00_user-deleted": userDeleted,
  "2026-12-08T00-00-00_encrypted-keys": encryptedKeys,
  "2026-12-09T00-00-00_service-accounts": serviceAccounts,
  "2026-12-09T01-00-00_sign-in-identifier": signInIdentifier,
};
