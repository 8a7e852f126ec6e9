import type { Kysely, Transaction } from "kysely";

/** Runs work in one database transaction. */
export type Transact<DB> = <T>(work: (trx: Transaction<DB>) => Promise<T>) => Promise<T>;

/**
 * A transaction runner that wakes the outbox relay after every commit, so events recorded in the
 * transaction are published within milliseconds instead of at the relay's next poll.
 */
export function createTransact<DB>(db: Kysely<DB>, afterCommit: () => void): Transact<DB> {
  return async (work) => {
    const result = await db.transaction().execute(work);
    afterCommit();
    return result;
  };
}
