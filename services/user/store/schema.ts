import type { OutboxTable } from "../../shared/outbox/outbox-table.js";

/** The user database's tables, as Kysely sees them. Row types never leave store/. */
export interface UserDatabase {
  outbox: OutboxTable;
}
