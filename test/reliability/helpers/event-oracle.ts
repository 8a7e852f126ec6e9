// Checks a workload's ledger against the events that reached JetStream: every successful call has
// exactly one event, a failed call at most one (its transaction may have committed before the
// answer was lost), and no event id was delivered twice.
import type { EventCollector } from "../../fixtures/events.js";
import { waitFor } from "../../support/index.js";
import { unsentOutboxRows } from "./committed-state.js";
import type { Ledger, Step } from "./workload.js";

export interface EventAudit {
  /** Successful calls checked. */
  checked: number;
  /** Successful calls without their event. */
  missing: string[];
  /** Calls (successful or not) with more than one event. */
  doubled: string[];
  /** Event ids seen more than once on the stream. */
  duplicateIds: string[];
}

function describe(step: Step): string {
  return JSON.stringify(step);
}

type Index = Map<string, number>;

function countBy<T>(items: T[], key: (item: T) => string | undefined): Index {
  const index: Index = new Map();
  for (const item of items) {
    const value = key(item);
    if (value !== undefined) index.set(value, (index.get(value) ?? 0) + 1);
  }
  return index;
}

/** Events decoded once per audit, counted by the key each kind of call is matched on. */
function indexEvents(events: EventCollector) {
  return {
    otpSent: countBy(events.decoded("auth.otp.sent"), (event) => event.identifier),
    otpVerified: countBy(events.decoded("auth.otp.verified"), (event) => event.identifier),
    login: countBy(events.decoded("auth.login"), (event) => event.identifier),
    sessionCreated: countBy(events.decoded("auth.session.created"), (event) => event.sessionId),
    profileCreated: countBy(events.decoded("user.profile.created"), (event) => event.userId),
    profileUpdated: countBy(events.decoded("user.profile.updated"), (event) => event.profile?.name),
    sessionRefreshed: countBy(events.decoded("auth.session.refreshed"), (event) => event.sessionId),
  };
}

/** How many events on the stream belong to this call. Steps are matched on keys unique to one attempt. */
function eventsFor(step: Step, index: ReturnType<typeof indexEvents>): number[] {
  const count = (map: Index, key: string) => map.get(key) ?? 0;
  switch (step.rpc) {
    case "SendOtp":
      return [count(index.otpSent, step.identifier)];
    case "VerifyOtp":
      return [count(index.otpVerified, step.identifier)];
    case "Login":
      // The session id is known only when the answer arrived.
      return [
        count(index.login, step.identifier),
        ...(step.sessionId ? [count(index.sessionCreated, step.sessionId)] : []),
      ];
    case "CreateUser":
      return [count(index.profileCreated, step.userId)];
    case "UpdateMe":
      return [count(index.profileUpdated, step.name)];
    case "RefreshToken":
      return [count(index.sessionRefreshed, step.sessionId)];
  }
}

export function auditEvents(ledger: Ledger, events: EventCollector): EventAudit {
  const audit: EventAudit = { checked: 0, missing: [], doubled: [], duplicateIds: [] };
  const index = indexEvents(events);
  for (const call of ledger.calls) {
    const counts = eventsFor(call.step, index);
    if (call.code === "ok") {
      audit.checked++;
      if (counts.some((count) => count === 0)) audit.missing.push(describe(call.step));
    }
    if (counts.some((count) => count > 1)) audit.doubled.push(describe(call.step));
  }
  const seen = new Map<string, number>();
  for (const event of events.events) seen.set(event.msgId, (seen.get(event.msgId) ?? 0) + 1);
  audit.duplicateIds = [...seen].filter(([, count]) => count > 1).map(([id]) => id);
  return audit;
}

/** True once every successful call's events have arrived (for waitFor). */
export function allDelivered(ledger: Ledger, events: EventCollector): boolean {
  return auditEvents(ledger, events).missing.length === 0;
}

/**
 * Waits until every successful call's events have arrived and the outboxes of the databases at
 * `outboxUrls` hold nothing unsent (the late copies of failed calls included), then audits.
 */
export async function auditOnceDelivered(
  ledger: Ledger,
  events: EventCollector,
  outboxUrls: readonly string[] = [],
): Promise<EventAudit> {
  await waitFor(() => allDelivered(ledger, events), { timeoutMs: 45_000, intervalMs: 250 });
  await waitFor(async () => (await Promise.all(outboxUrls.map(unsentOutboxRows))).every((count) => count === 0), {
    timeoutMs: 30_000,
    intervalMs: 250,
  });
  return auditEvents(ledger, events);
}
