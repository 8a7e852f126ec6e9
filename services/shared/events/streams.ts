import type { JetStreamManager, StreamInfo } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";

export interface StreamDefinition {
  name: string;
  /** At least one subject pattern. */
  subjects: [string, ...string[]];
  maxAgeMs: number;
  description: string;
  /**
   * Messages must not be kept longer than maxAgeMs: an existing stream that keeps them longer (or
   * forever) is shortened at every (re)connect, whoever created it.
   */
  maxAgeIsLimit?: boolean;
}

const day = 86_400_000;

/**
 * The JetStream streams of the identity services. Each service creates the ones it publishes to or
 * reads from when they are missing; an existing stream's configuration is left to operators, except
 * a retention that is a limit (NOTIFY_OTP's).
 */
export const streams = {
  auth: { name: "AUTH_EVENTS", subjects: ["auth.>"], maxAgeMs: 30 * day, description: "AuthService events" },
  user: { name: "USER_EVENTS", subjects: ["user.>"], maxAgeMs: 30 * day, description: "UserService events" },
  // Delivery requests carry one-time codes: kept no longer than a code lives (the auth service sets
  // its OTP_EXPIRATION_MINUTES through notifyStream(); the default lifetime here).
  notify: {
    name: "NOTIFY_OTP",
    subjects: ["notify.otp.>"],
    maxAgeMs: 5 * 60_000,
    description: "One-time code delivery requests for the notification service",
    maxAgeIsLimit: true,
  },
} satisfies Record<string, StreamDefinition>;

/** NOTIFY_OTP for codes that live `codeLifetimeMs`: a delivery request dies with its code. */
export function notifyStream(codeLifetimeMs: number): StreamDefinition {
  return { ...streams.notify, maxAgeMs: codeLifetimeMs };
}

/** Window in which a re-published `Nats-Msg-Id` is dropped as a duplicate (never longer than the retention). */
const duplicateWindowMs = 10 * 60_000;

export async function ensureStreams(
  jsm: JetStreamManager,
  definitions: StreamDefinition[],
  replicas: number,
): Promise<void> {
  for (const definition of definitions) {
    const duplicateWindow = nanos(Math.min(duplicateWindowMs, definition.maxAgeMs));
    const maxAge = nanos(definition.maxAgeMs);
    let existing: StreamInfo | undefined;
    try {
      existing = await jsm.streams.info(definition.name);
    } catch {
      await jsm.streams.add({
        name: definition.name,
        subjects: definition.subjects,
        description: definition.description,
        max_age: maxAge,
        duplicate_window: duplicateWindow,
        num_replicas: replicas,
      });
      continue;
    }
    // max_age 0 means "forever".
    const keptTooLong = existing.config.max_age === 0 || existing.config.max_age > maxAge;
    if (definition.maxAgeIsLimit && keptTooLong) {
      await jsm.streams.update(definition.name, {
        max_age: maxAge,
        // JetStream refuses a duplicate window longer than the retention.
        duplicate_window: Math.min(existing.config.duplicate_window, duplicateWindow),
      });
    }
  }
}
