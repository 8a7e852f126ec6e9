import type { Kysely } from "kysely";
import type { Clock } from "../../shared/clock.js";
import type { Logger } from "../../shared/logging.js";
import { cleanupBatches, clearSealedPairs, deletePastSendBudgets } from "../store/cleanup-store.js";
import type { AuthDatabase } from "../store/schema.js";
import { deleteRetiredSigningKeys } from "../store/signing-key-store.js";
import { publicationMarginMs } from "./key-ring.js";

export interface CleanupOptions {
  db: Kysely<AuthDatabase>;
  clock: Clock;
  logger: Logger;
  intervalMs: number;
  /** Rows per statement. */
  batchSize: number;
  /** Statements per kind of row per run, so one run never hogs the database. */
  maxBatchesPerRun?: number;
  /** The longest rate-limit window (OTP sends, password and client failures per IP): older hits no longer count. */
  rateLimitWindowMs: number;
  /** The global send budget's window: counters of windows that started longer ago have ended. */
  sendBudgetWindowMs: number;
  /** How long failed OTP, password and client-secret guesses are remembered. */
  failureMemoryMs: number;
  refreshGraceMs: number;
  accessTokenLifetimeMs: number;
  /** How long ended sessions are kept (history for ListSessions' "new IP" checks, audits). */
  sessionRetentionMs: number;
}

export type CleanupCounts = Record<string, number>;

export type CleanupJob = ReturnType<typeof createCleanupJob>;

/**
 * Deletes what has stopped mattering (expired codes and verification tokens, idle rate-limit rows
 * and guards, expired refresh tokens, long-ended sessions, sealed grace copies, keys no token
 * needs) in small batches on an unref'd timer. Every instance runs it; skipped locks keep them
 * from stepping on each other or on requests.
 */
export function createCleanupJob(options: CleanupOptions) {
  const { db, logger } = options;
  const maxBatches = options.maxBatchesPerRun ?? 20;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;

  async function drain(batch: () => Promise<number>): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxBatches; i++) {
      const deleted = await batch();
      total += deleted;
      if (deleted < options.batchSize) break;
    }
    return total;
  }

  async function runOnce(): Promise<CleanupCounts> {
    const now = options.clock.now();
    const ago = (ms: number) => new Date(now.getTime() - ms);
    const limit = options.batchSize;
    const counts: CleanupCounts = {
      otpCodes: await drain(() => cleanupBatches.expiredOtpCodes(db, now, limit)),
      verificationTokens: await drain(() => cleanupBatches.expiredVerificationTokens(db, now, limit)),
      rateLimits: await drain(() => cleanupBatches.idleRateLimits(db, ago(options.rateLimitWindowMs), limit)),
      sendBudgets: await drain(() => deletePastSendBudgets(db, ago(options.sendBudgetWindowMs), limit)),
      otpGuards: await drain(() => cleanupBatches.idleOtpGuards(db, ago(options.failureMemoryMs), now, limit)),
      passwordGuards: await drain(() =>
        cleanupBatches.idlePasswordGuards(db, ago(options.failureMemoryMs), now, limit),
      ),
      clientAuthGuards: await drain(() =>
        cleanupBatches.idleClientAuthGuards(db, ago(options.failureMemoryMs), now, limit),
      ),
      sealedPairs: await drain(() => clearSealedPairs(db, ago(options.refreshGraceMs), limit)),
      refreshTokens: await drain(() => cleanupBatches.expiredRefreshTokens(db, now, limit)),
      sessions: await drain(() => cleanupBatches.endedSessions(db, ago(options.sessionRetentionMs), limit)),
      signingKeys: await deleteRetiredSigningKeys(
        db,
        ago(options.accessTokenLifetimeMs + publicationMarginMs + 86_400_000),
      ),
    };
    if (Object.values(counts).some((count) => count > 0)) logger.debug({ deleted: counts }, "cleanup run");
    return counts;
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = runOnce()
        .catch((error: unknown) => logger.warn({ err: error }, "cleanup run failed; retrying at the next interval"))
        .finally(() => {
          running = undefined;
          schedule(options.intervalMs);
        });
    }, delayMs);
    timer.unref();
  }

  return {
    runOnce,
    /** Starts the timer; the first run comes after a random part of the interval, so instances spread out. */
    start() {
      stopped = false;
      schedule(Math.round(options.intervalMs * (0.5 + Math.random() / 2)));
    },
    /** Stops the timer and waits for a run in progress. */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
