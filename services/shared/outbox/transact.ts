import type { Kysely, Transaction } from "kysely";

/** Runs work in one database transaction. */
export type Transact<DB> = <T>(work: (trx: Transaction<DB>) => Promise<T>) => Promise<T>;

type CommitHook = () => void | Promise<void>;

/** The hooks registered in each open transaction of a Transact; weak, so nothing outlives it. */
const commitHooks = new WeakMap<object, CommitHook[]>();

/**
 * A transaction runner that wakes the outbox relay after every commit, so events recorded in the
 * transaction are published within milliseconds instead of at the relay's next poll, then runs the
 * transaction's `onCommit` hooks (awaited, in order) before it resolves.
 */
export function createTransact<DB>(db: Kysely<DB>, afterCommit: () => void): Transact<DB> {
  return async (work) => {
    const hooks: CommitHook[] = [];
    const result = await db.transaction().execute((trx) => {
      commitHooks.set(trx, hooks);
      return work(trx);
    });
    afterCommit();
    for (const hook of hooks) await hook();
    return result;
  };
}

/**
 * Runs `hook` once the transaction `trx` has committed, before the Transact that opened it resolves;
 * never if it rolls back. For effects outside the database that must follow the commit (telling
 * this process's caches about it). Hooks should not throw: the change is committed either way.
 */
export function onCommit<DB>(trx: Kysely<DB>, hook: CommitHook): void {
  const hooks = commitHooks.get(trx);
  if (!hooks) throw new Error("onCommit needs a transaction opened by a Transact (services/shared/outbox/transact.ts)");
  hooks.push(hook);
}
