import type { Migration } from "kysely";
import { outboxMigrations } from "../../shared/outbox/outbox-migration.js";
import * as users from "./2026-11-26T02-00-00_users.js";
import * as lifecycleReason from "./2026-12-06T23-00-00_lifecycle-reason.js";
import * as kycExpired from "./2026-12-09T00-00-00_kyc-expired.js";

/** Every migration of the user database, by name; names sort in the order they were written. */
export const userMigrations: Record<string, Migration> = {
  ...outboxMigrations,
  "2026-11-26T02-00-00_users": users,
  "2026-12-06T23-00-00_lifecycle-reason": lifecycleReason,
  "2026-12-09T00-00-00_kyc-expired": kycExpired,
};
