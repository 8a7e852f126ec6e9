import type { JetStreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";

export interface StreamDefinition {
  name: string;
  /** At least one subject pattern. */
  subjects: [string, ...string[]];
  maxAgeMs: number;
  description: string;
}

const day = 86_400_000;

/**
 * The JetStream streams of the identity services. Each service creates the ones it publishes to or
 * reads from when they are missing; an existing stream's configuration is left to operators.
 */
export const streams = {
  auth: { name: "AUTH_EVENTS", subjects: ["auth.>"], maxAgeMs: 30 * day, description: "AuthService events" },
  user: { name: "USER_EVENTS", subjects: ["user.>"], maxAgeMs: 30 * day, description: "UserService events" },
  // Delivery requests carry one-time codes that die after minutes: keep them no longer than that.
  notify: {
    name: "NOTIFY_OTP",
    subjects: ["notify.otp.>"],
    maxAgeMs: 15 * 60_000,
    description: "One-time code delivery requests for the notification service",
  },
} satisfies Record<string, StreamDefinition>;

/** Window in which a re-published `Nats-Msg-Id` is dropped as a duplicate. */
const duplicateWindowMs = 10 * 60_000;

export async function ensureStreams(
  jsm: JetStreamManager,
  definitions: StreamDefinition[],
  replicas: number,
): Promise<void> {
  for (const definition of definitions) {
    try {
      await jsm.streams.info(definition.name);
    } catch {
      await jsm.streams.add({
        name: definition.name,
        subjects: definition.subjects,
        description: definition.description,
        max_age: nanos(definition.maxAgeMs),
        duplicate_window: nanos(Math.min(duplicateWindowMs, definition.maxAgeMs)),
        num_replicas: replicas,
      });
    }
  }
}
