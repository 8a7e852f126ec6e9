import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Kysely } from "kysely";
import type { AuthDatabase } from "../../services/auth/store/schema.js";
import { IdentifierType } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { startAuth } from "../fixtures/services.js";
import { waitFor } from "../support/index.js";
import {
  sendCode,
  signIn,
  startAuthHarness,
  uniqueEmail,
  verificationToken,
  verifyRequest,
  wrongCode,
  type AuthHarness,
} from "./auth-harness.js";

// The background cleanup: expired codes and verification tokens, idle rate-limit rows and guards,
// send-budget counters of past windows, expired rotated-away refresh tokens, sealed grace copies and
// long-ended sessions go, in small batches; live rows stay.

const minute = 60_000;
const day = 86_400_000;

async function count(db: Kysely<AuthDatabase>, table: keyof AuthDatabase): Promise<number> {
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe("background cleanup", () => {
  let h: AuthHarness;
  let db: Kysely<AuthDatabase>;

  beforeAll(async () => {
    // Batches of 2, so one run needs several statements; the timer is far away: runs are explicit here.
    h = await startAuthHarness({ env: { CLEANUP_BATCH_SIZE: "2", CLEANUP_INTERVAL: "1h" } });
    db = h.auth.handle.runtime.db;
  });
  afterAll(async () => {
    await h?.close();
  });

  it("removes what expired, in batches, and keeps what still counts", async () => {
    // Expiring soon: unused codes, unused verification tokens, a guard with failures, a rate limit.
    for (let i = 0; i < 5; i++) await sendCode(h, uniqueEmail("stale"));
    for (let i = 0; i < 3; i++) await verificationToken(h, uniqueEmail("token"));
    const guarded = uniqueEmail("guard");
    await h.client.verifyOtp(verifyRequest(guarded, wrongCode(await sendCode(h, guarded)))).catch(() => undefined);
    const passwordGuessed = uniqueEmail("password-guess");
    await h.client
      .loginWithPassword({
        identifier: passwordGuessed,
        identifierType: IdentifierType.EMAIL,
        password: "not-the-password",
        deviceId: "device-1",
      })
      .catch(() => undefined);
    expect(await count(db, "password_guards")).toBe(1);
    const session = await signIn(h, uniqueEmail("session"));
    await h.client.refreshToken({ refreshToken: session.tokens!.refreshToken, deviceId: "device-1" });

    h.clock.advance(16 * minute);
    const live = uniqueEmail("live");
    await sendCode(h, live);

    const counts = await h.auth.handle.domain.cleanup.runOnce();
    expect(counts.otpCodes).toBeGreaterThanOrEqual(5);
    expect(counts.verificationTokens).toBe(3);
    expect(counts.sealedPairs).toBe(1);
    expect(await db.selectFrom("otp_codes").select("identifier").execute()).toEqual([{ identifier: live }]);
    expect(await count(db, "verification_tokens")).toBe(0);
    const keys = (await db.selectFrom("rate_limits").select("key").execute()).map((r) => r.key).sort();
    expect(keys).toEqual([`otp-send:identifier:${live}`, "otp-send:ip:127.0.0.1"]);
    expect(
      await db.selectFrom("refresh_tokens").select("successor_box").where("successor_box", "is not", null).execute(),
    ).toEqual([]);
    // Guards are remembered for a day; sessions live on.
    expect(
      await db.selectFrom("otp_guards").select("identifier").where("identifier", "=", guarded).execute(),
    ).toHaveLength(1);
    expect(await count(db, "sessions")).toBe(1);
    expect(await count(db, "otp_send_budgets")).toBeGreaterThan(0); // the send budget of this window

    h.clock.advance(day);
    await h.auth.handle.domain.cleanup.runOnce();
    expect(await count(db, "otp_send_budgets")).toBe(0);
    expect(await count(db, "otp_guards")).toBe(0);
    expect(await count(db, "password_guards")).toBe(0);
    expect(await count(db, "rate_limits")).toBe(0);

    // A session past its expiry loses its rotated-away refresh token at once; its current one stays
    // with it (a late refresh is told "expired", not "unknown") and both go after the retention.
    h.clock.advance(7 * day);
    await h.auth.handle.domain.cleanup.runOnce();
    expect(await db.selectFrom("refresh_tokens").select("rotated_at").execute()).toEqual([{ rotated_at: null }]);
    expect(await count(db, "sessions")).toBe(1);
    h.clock.advance(30 * day);
    await h.auth.handle.domain.cleanup.runOnce();
    expect(await count(db, "sessions")).toBe(0);
    expect(await count(db, "refresh_tokens")).toBe(0);
    expect(await count(db, "devices")).toBe(1);
  });

  it("runs by itself on its interval", async () => {
    const timed = await startAuth({ ...h.env, CLEANUP_INTERVAL: "50ms" }, { clock: h.clock, delivery: h.capture });
    try {
      await sendCode(h, uniqueEmail("timed"));
      h.clock.advance(6 * minute);
      await waitFor(async () => (await count(db, "otp_codes")) === 0);
    } finally {
      await timed.close();
    }
  });
});
