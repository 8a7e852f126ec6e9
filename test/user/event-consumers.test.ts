import { randomUUID } from "node:crypto";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type CallOptions } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentifierType } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { waitFor } from "../support/index.js";
import { bearerOptions, freshUsername, startUserHarness, type UserHarness } from "./harness.js";

// The user service's durable consumers of the auth service's events, fed here by publishing the
// events to JetStream as the auth service's relay would: verified identifiers reach profiles (even
// profiles created later), sign-ins count as activity, and replays or late events change nothing.

describe("UserService consumers of auth events", () => {
  let h: UserHarness;
  let admin: CallOptions;

  beforeAll(async () => {
    h = await startUserHarness();
    admin = bearerOptions((await h.tokens.admin()).token);
  });
  afterAll(async () => {
    await h?.close();
  });

  const at = (offsetMs: number) => timestampFromDate(new Date(Date.now() + offsetMs));
  const profileOf = async (phone: string) => (await h.client.getUserByPhone({ phone }, admin)).user!;

  it("marks a linked email verified on the profile, recomputes completion and emits user.profile.updated", async () => {
    const person = await h.signUp();
    expect(person.user.emailVerified).toBe(false);
    await h.publisher.publish("auth.identifier.linked", {
      userId: person.userId,
      identifierType: IdentifierType.EMAIL,
      identifier: "linked@example.com",
    });
    const user = await waitFor(async () => {
      const current = await profileOf(person.claims.phone!);
      return current.emailVerified ? current : undefined;
    });
    expect(user!.email).toBe("linked@example.com");
    expect(user!.profileCompletionPercent).toBe(person.user.profileCompletionPercent + 10);
    const [event] = await h.eventsWhere("user.profile.updated", (e) => e.userId === person.userId);
    // A profile change: the REGISTERED user starts ONBOARDING.
    expect(event!.changedFields).toEqual(["email", "email_verified", "lifecycle_state", "profile_completion_percent"]);
    expect(event!.actorUserId).toBe(person.userId);
  });

  it("creates nothing for a user without a profile, but the profile created later shows the identifier verified", async () => {
    const issued = await h.tokens.user();
    const eventId = await h.publisher.publish("auth.identifier.linked", {
      userId: issued.claims.sub,
      identifierType: IdentifierType.EMAIL,
      identifier: "early@example.com",
    });
    await waitFor(async () => {
      // The fact is kept; no profile appears.
      const rows = await h.user.handle.runtime.db
        .selectFrom("verified_identifiers")
        .select("event_id")
        .where("user_id", "=", issued.claims.sub)
        .execute();
      return rows.some((row) => row.event_id === eventId);
    });
    const missing = await h.client.getMe({}, bearerOptions(issued.token)).catch((e: unknown) => ConnectError.from(e));
    expect((missing as ConnectError).code).toBe(Code.NotFound);

    const { user } = await h.client.createUser(
      { username: freshUsername(), name: "Late" },
      bearerOptions(issued.token),
    );
    expect(user!.email).toBe("early@example.com");
    expect(user!.emailVerified).toBe(true);
  });

  it("records the identifier of auth.user.registered for the profile to come", async () => {
    const issued = await h.tokens.issue({});
    await h.publisher.publish("auth.user.registered", {
      userId: issued.claims.sub,
      identifierType: IdentifierType.PHONE,
      identifier: "+447911123777",
    });
    const user = await waitFor(async () => {
      const rows = await h.user.handle.runtime.db
        .selectFrom("verified_identifiers")
        .selectAll()
        .where("user_id", "=", issued.claims.sub)
        .execute();
      return rows.length > 0 ? rows : undefined;
    }).then(() => h.client.createUser({ username: freshUsername(), name: "Reg" }, bearerOptions(issued.token)));
    expect(user.user!.phone).toBe("+447911123777");
    expect(user.user!.phoneVerified).toBe(true);
  });

  it("applies a replayed event once: the same event id delivered again changes nothing", async () => {
    const person = await h.signUp();
    const event = {
      eventId: randomUUID(),
      occurredAt: at(0),
      userId: person.userId,
      identifierType: IdentifierType.EMAIL,
      identifier: "replay@example.com",
    };
    await h.publisher.publish("auth.identifier.linked", event);
    await waitFor(async () => (await profileOf(person.claims.phone!)).emailVerified);
    const afterFirst = await profileOf(person.claims.phone!);
    // The same event re-published beyond JetStream's duplicate window (a new message id), twice.
    await h.publisher.publishCopy("auth.identifier.linked", event);
    await h.publisher.publishCopy("auth.identifier.linked", event);
    // A later event on the same subject: once it is applied, the copies before it were handled.
    await h.publisher.publish("auth.identifier.linked", {
      userId: person.userId,
      occurredAt: at(1_000),
      identifierType: IdentifierType.PHONE,
      identifier: "+447911123778",
    });
    await waitFor(async () => (await profileOf("+447911123778")).id === person.userId);
    const final = await profileOf("+447911123778");
    expect(final.version).toBe(afterFirst.version + 1n);
    const updates = await h.eventsWhere("user.profile.updated", (e) => e.userId === person.userId, 2);
    expect(updates.map((e) => e.changedFields[0])).toEqual(["email", "phone"]);
  });

  it("leaves the same state whatever order two links of one user arrive in", async () => {
    const finals: string[] = [];
    for (const order of ["in order", "reversed"]) {
      const person = await h.signUp();
      const older = {
        eventId: randomUUID(),
        occurredAt: at(-60_000),
        userId: person.userId,
        identifierType: IdentifierType.EMAIL,
        identifier: `old-${order.replace(" ", "")}@example.com`,
      };
      const newer = {
        eventId: randomUUID(),
        occurredAt: at(0),
        userId: person.userId,
        identifierType: IdentifierType.EMAIL,
        identifier: `new-${order.replace(" ", "")}@example.com`,
      };
      const sequence = order === "in order" ? [older, newer] : [newer, older];
      for (const event of sequence) await h.publisher.publish("auth.identifier.linked", event);
      // A marker after both, on the same subject, tells when both were handled.
      await h.publisher.publish("auth.identifier.linked", {
        userId: person.userId,
        occurredAt: at(0),
        identifierType: IdentifierType.PHONE,
        identifier: `+4479111238${order === "in order" ? "01" : "02"}`,
      });
      await waitFor(
        async () => (await profileOf(`+4479111238${order === "in order" ? "01" : "02"}`)).id === person.userId,
      );
      finals.push((await profileOf(`+4479111238${order === "in order" ? "01" : "02"}`)).email.replace(/-.*@/, "@"));
    }
    expect(finals).toEqual(["new@example.com", "new@example.com"]);
  });

  it("moves a linked identifier off a profile that still showed it (the auth service owns identifiers)", async () => {
    const previous = await h.signUp({}, { email: "moved@example.com" });
    const next = await h.signUp();
    await h.publisher.publish("auth.identifier.linked", {
      userId: next.userId,
      identifierType: IdentifierType.EMAIL,
      identifier: "moved@example.com",
    });
    await waitFor(
      async () => (await h.client.getUserByEmail({ email: "moved@example.com" }, admin)).user!.id === next.userId,
    );
    const old = await profileOf(previous.claims.phone!);
    expect(old.email).toBe("");
    expect(old.emailVerified).toBe(false);
  });

  it("records sign-ins and refreshes in last_active_at at most once a minute, never moving it back", async () => {
    const person = await h.signUp();
    const lastActive = async () => timestampDate((await profileOf(person.claims.phone!)).lastActiveAt!).getTime();
    const base = Date.now() + 10 * 60_000;
    const login = (offsetMs: number) =>
      h.publisher.publish("auth.login", {
        userId: person.userId,
        sessionId: randomUUID(),
        occurredAt: timestampFromDate(new Date(base + offsetMs)),
      });
    await login(0);
    await waitFor(async () => (await lastActive()) === base);
    await login(30_000); // within the minute: not written
    await login(-5 * 60_000); // older: never moves it back
    await h.publisher.publish("auth.session.refreshed", {
      userId: person.userId,
      sessionId: randomUUID(),
      occurredAt: timestampFromDate(new Date(base + 90_000)),
    });
    await waitFor(async () => (await lastActive()) === base + 90_000);
    // A late copy of the +30 s sign-in cannot move it back either.
    await login(30_000);
    await login(120_000); // 30 s after the refresh: not written
    await login(151_000);
    await waitFor(async () => (await lastActive()) === base + 151_000);
  });

  it("keeps consuming after NATS restarts", async () => {
    const person = await h.signUp();
    await h.nats.restart();
    await h.publisher
      .publish("auth.identifier.linked", {
        userId: person.userId,
        identifierType: IdentifierType.EMAIL,
        identifier: "after-restart@example.com",
      })
      .catch(async () => {
        // The publisher's own connection may still be reconnecting.
        await waitFor(
          () =>
            h.publisher.publish("auth.identifier.linked", {
              userId: person.userId,
              identifierType: IdentifierType.EMAIL,
              identifier: "after-restart@example.com",
            }),
          { timeoutMs: 10_000 },
        );
      });
    await waitFor(async () => (await profileOf(person.claims.phone!)).email === "after-restart@example.com", {
      timeoutMs: 15_000,
    });
  });
});
