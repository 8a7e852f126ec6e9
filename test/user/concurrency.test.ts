import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomReferralSuffix } from "../../services/user/domain/referral-codes.js";
import { bearerOptions, freshUsername, startUserHarness, type UserHarness, type UserInstance } from "./harness.js";

// Races that real traffic produces, across two service instances on one database: exactly one
// winner for a username, one profile per subject, no lost update, and referral codes that stay
// unique when the random part collides.

describe("UserService under concurrency", () => {
  let h: UserHarness;
  let second: UserInstance;

  beforeAll(async () => {
    h = await startUserHarness();
    second = await h.startInstance();
  });
  afterAll(async () => {
    await h?.close();
  });

  const clients = () => [h.client, second.client];
  const codeOf = (result: PromiseSettledResult<unknown>) =>
    result.status === "fulfilled" ? "ok" : Code[ConnectError.from(result.reason).code];

  it("lets exactly one of 12 concurrent CreateUser calls claim a username, whatever the case", async () => {
    const username = freshUsername("race");
    const tokens = await Promise.all(Array.from({ length: 12 }, () => h.tokens.user()));
    const results = await Promise.allSettled(
      tokens.map((issued, index) =>
        clients()[index % 2]!.createUser(
          { username: index % 3 === 0 ? username.toUpperCase() : username, name: `Racer ${index}` },
          bearerOptions(issued.token),
        ),
      ),
    );
    const codes = results.map(codeOf);
    expect(codes.filter((code) => code === "ok")).toHaveLength(1);
    expect(codes.filter((code) => code === "AlreadyExists")).toHaveLength(11);
  });

  it("lets exactly one of 10 users switching to the same username at once have it", async () => {
    const people = await Promise.all(Array.from({ length: 10 }, () => h.signUp()));
    const target = freshUsername("wanted");
    const results = await Promise.allSettled(
      people.map((person, index) => clients()[index % 2]!.updateUsername({ username: target }, person.as)),
    );
    const codes = results.map(codeOf);
    expect(codes.filter((code) => code === "ok")).toHaveLength(1);
    expect(codes.filter((code) => code === "AlreadyExists")).toHaveLength(9);
  });

  it("creates one profile when one subject calls CreateUser 10 times at once", async () => {
    const issued = await h.tokens.user();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, index) =>
        clients()[index % 2]!.createUser(
          { username: freshUsername("same"), name: "Once" },
          bearerOptions(issued.token),
        ),
      ),
    );
    const codes = results.map(codeOf);
    expect(codes.filter((code) => code === "ok")).toHaveLength(1);
    expect(codes.filter((code) => code === "AlreadyExists")).toHaveLength(9);
    const created = await h.eventsWhere("user.profile.created", (e) => e.userId === issued.claims.sub);
    expect(created).toHaveLength(1);
  });

  it("loses no update when a user's profile is changed by 10 concurrent requests (optimistic version, retried)", async () => {
    const person = await h.signUp();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, index) =>
        clients()[index % 2]!.updateMe({ bio: `bio ${index}`, location: `place ${index}` }, person.as),
      ),
    );
    expect(results.map(codeOf)).toEqual(Array(10).fill("ok"));
    const { user } = await h.client.getMe({}, person.as);
    // Each change is its own version; the events are numbered 2..11 without gaps or repeats.
    expect(user!.version).toBe(person.user.version + 10n);
    const updates = await h.eventsWhere("user.profile.updated", (e) => e.userId === person.userId, 10);
    expect(updates.map((e) => Number(e.version)).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const last = updates.find((e) => e.version === user!.version)!;
    expect(last.profile?.bio).toBe(user!.bio);
  });

  it("draws a new referral code when the random part collides with an existing code", async () => {
    // An instance that draws the same tail twice, then random ones: the second code collides.
    let draws = 0;
    const unlucky = await h.startInstance({ referralSuffix: () => (++draws <= 2 ? "22222" : randomReferralSuffix()) });
    const prefix = `samepfx${Date.now() % 1000}`;
    const first = await h.tokens.user();
    const secondToken = await h.tokens.user();
    const { user: a } = await unlucky.client.createUser(
      { username: `${prefix}_a`, name: "A" },
      bearerOptions(first.token),
    );
    const { user: b } = await unlucky.client.createUser(
      { username: `${prefix}_b`, name: "B" },
      bearerOptions(secondToken.token),
    );
    expect(a!.referralCode).toBe(`${prefix.toUpperCase().slice(0, 6)}22222`);
    expect(b!.referralCode).not.toBe(a!.referralCode);
    expect(b!.referralCode.startsWith(prefix.toUpperCase().slice(0, 6))).toBe(true);
  });
});
