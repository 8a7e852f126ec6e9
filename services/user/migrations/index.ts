import type { Migration } from "kysely";
import { outboxMigrations } from "../../shared/outbox/outbox-migration.js";

/** Every migration of the user database, by name; names sort in the order they were written. */
export const userMigrations: Record<string, Migration> = {
  ...outboxMigrations,
};
