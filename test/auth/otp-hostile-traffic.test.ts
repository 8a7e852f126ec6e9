import { Code, ConnectError } from "@connectrpc/connect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { clientNetwork } from "../../services/shared/client-network.js";
import { connectAuthClient } from "../fixtures/services.js";
import { lockWaiters, waitFor } from "../support/index.js";
import { sendChallenge, startAuthHarness, uniqueEmail, verifyRequest, type AuthHarness } from "./auth-harness.js";

// Hostile traffic against the code sign-in: a stranger who knows someone's identifier cannot keep
// them out by guessing, per-IP limits count an IPv6 client's whole /64, and a global send budget
// caps what SMS pumping can cost, across instances. Time moves on the harness's manual clock.

const minute = 60_000;

function forwardedFrom(ip: string) {
  return { headers: { "x-forwarded-for": ip } };
}

async function outcome(call: Promise<unknown>): Promise<Code | "ok"> {
  return call.then(
    () => "ok" as const,
    (error: unknown) => ConnectError.from(error).code,
  );
}

/** `count` different codes, none of them one of `codes`. */
function wrongCodes(codes: string[], count: number): string[] {
  const wrong: string[] = [];
  for (let candidate = Number(codes[0]) + 1; wrong.length < count; candidate++) {
    const code = String(candidate % 1_000_000).padStart(6, "0");
    if (!codes.includes(code)) wrong.push(code);
  }
  return wrong;
}

function sendRequest(email: string) {
  return { identifier: email, identifierType: IdentifierType.EMAIL, purpose: OtpPurpose.LOGIN, deviceId: "d" };
}

describe("a stranger guessing at someone's codes", () => {
  let h: AuthHarness;

  beforeAll(async () => {
    // 127.0.0.1 is the proxy, so each party can have an address of its own (X-Forwarded-For).
    h = await startAuthHarness({ env: { TRUSTED_PROXIES: "127.0.0.1,::1", OTP_IP_RATE_LIMIT_MAX_REQUESTS: "5" } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("makes 50 wrong guesses over two hours, with and without challenges, and the owner still signs in with their own code", async () => {
    const owner = uniqueEmail("owner");
    const stranger = forwardedFrom("203.0.113.66");
    const ownerNetwork = forwardedFrom("198.51.100.20");
    const locksBefore = (await h.auth.handle.runtime.metrics.otpIdentifierLocks.get()).values[0]?.value ?? 0;
    const guess = (code: string, challengeId: string) =>
      outcome(h.client.verifyOtp(verifyRequest(owner, code, OtpPurpose.LOGIN, challengeId), stranger));

    // Every 8 minutes the stranger asks for a code (it goes to the owner, not to them), makes one
    // guess without a challenge and spends the code's three attempts. Two sends per 15 minutes
    // leave the owner one.
    let wrongGuesses = 0;
    while (wrongGuesses < 50) {
      h.clock.advance(8 * minute);
      const theirs = await sendChallenge(h, owner, OtpPurpose.LOGIN, stranger);
      const [unbound, ...bound] = wrongCodes([theirs.code], 4);
      expect(await guess(unbound!, "")).toBe(Code.Unauthenticated);
      wrongGuesses++;
      for (const code of bound) {
        expect(await guess(code, theirs.challengeId)).toBe(Code.Unauthenticated);
        wrongGuesses++;
      }
    }
    const guard = await h.auth.handle.runtime.db
      .selectFrom("otp_guards")
      .select(["failures", "locked_until"])
      .where("identifier", "=", owner)
      .executeTakeFirstOrThrow();
    expect(guard.failures).toBeGreaterThanOrEqual(50);
    expect(guard.locked_until).toBeNull();

    // The owner asks for a code. The stranger sends one more (the last the window allows) and keeps
    // guessing, with their challenge and without, while the owner reads the message.
    h.clock.advance(8 * minute);
    const mine = await sendChallenge(h, owner, OtpPurpose.LOGIN, ownerNetwork);
    const theirs = await sendChallenge(h, owner, OtpPurpose.LOGIN, stranger);
    for (const code of wrongCodes([mine.code, theirs.code], 3)) {
      expect(await guess(code, theirs.challengeId)).toBe(Code.Unauthenticated);
      expect([Code.Unauthenticated, Code.ResourceExhausted]).toContain(await guess(code, ""));
    }
    // Guesses without a challenge have a small allowance, now spent; they never touched the owner's code.
    expect(await guess(mine.code, "")).toBe(Code.ResourceExhausted);
    // What the stranger can still do: spend the identifier's sends, so the owner could not ask for another now.
    expect(await outcome(h.client.sendOtp(sendRequest(owner), ownerNetwork))).toBe(Code.ResourceExhausted);

    const { verificationToken } = await h.client.verifyOtp(
      verifyRequest(owner, mine.code, OtpPurpose.LOGIN, mine.challengeId),
      ownerNetwork,
    );
    const login = await h.client.login({ verificationToken, deviceId: "owner-phone", deviceName: "" }, ownerNetwork);
    expect(login.tokens?.accessToken).toBeTruthy();
    expect((await h.auth.handle.runtime.metrics.otpIdentifierLocks.get()).values[0]?.value ?? 0).toBe(locksBefore);
  });

  it("counts a send the identifier's limit refuses against no network, and does not deadlock, when it raced the identifier's first sends", async () => {
    const email = uniqueEmail("raced");
    const network = "otp-send:ip:198.51.100.7";
    const networkHits = async (admin: pg.Client) => {
      const { rows } = await admin.query<{ hits: number }>(
        "select cardinality(hits) as hits from rate_limits where key = $1",
        [network],
      );
      return rows[0]?.hits ?? 0;
    };
    const admin = new pg.Client({ connectionString: h.database.url });
    await admin.connect();
    try {
      // A concurrent first send for this identifier, by hand and in a send's lock order: the
      // identifier's advisory lock (rate-limit-store.ts, keyLockedFirst), its row (new, with a full window),
      // then the network's row. SendOtp's statement starts while this is open, so its snapshot will not
      // have the identifier's row: it must wait on the advisory lock first, not lock the network's row
      // and then wait on the identifier's (which would deadlock with this transaction).
      const identifierKey = `otp-send:identifier:${email}`;
      const now = h.clock.now();
      await admin.query("begin");
      await admin.query("select pg_advisory_xact_lock(hashtextextended($1, 0))", [`rate-limit:${identifierKey}`]);
      await admin.query(
        "insert into rate_limits (key, hits, updated_at) values ($1, array[$2, $2, $2]::timestamptz[], $2)",
        [identifierKey, now],
      );
      const send = outcome(h.client.sendOtp(sendRequest(email), forwardedFrom("198.51.100.7")));
      await waitFor(async () => expect(await lockWaiters(h.database)).toBe(1));
      await admin.query("insert into rate_limits (key, hits, updated_at) values ($1, array[$2]::timestamptz[], $2)", [
        network,
        now,
      ]);
      await admin.query("commit");
      // Refused by the identifier's window, counted by the network on the way (its snapshot did not
      // have the identifier's row), and that hit given back: the network holds the other send's alone.
      expect(await send).toBe(Code.ResourceExhausted);
      expect(await networkHits(admin)).toBe(1);
      // A send the identifier's limit refuses outright never touches the network.
      expect(await outcome(h.client.sendOtp(sendRequest(email), forwardedFrom("198.51.100.7")))).toBe(
        Code.ResourceExhausted,
      );
      expect(await networkHits(admin)).toBe(1);
    } finally {
      await admin.end();
    }
  });

  it("counts an IPv6 client's whole /64 as one network for the per-IP send limit", async () => {
    const send = (ip: string) => outcome(h.client.sendOtp(sendRequest(uniqueEmail("v6")), forwardedFrom(ip)));
    const rotating = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => send(`2001:db8:abcd:12:${n}::${n}`)));
    expect(rotating.filter((answer) => answer === "ok")).toHaveLength(5);
    expect(rotating.filter((answer) => answer === Code.ResourceExhausted)).toHaveLength(1);
    expect(await send("2001:db8:abcd:12:ffff:ffff:ffff:ffff")).toBe(Code.ResourceExhausted);
    expect(await send("2001:db8:abcd:13::1")).toBe("ok"); // the next /64 is another network
  });

  it("counts an IPv4-mapped IPv6 address as the IPv4 address it carries, and IPv4 addresses exactly", async () => {
    const send = (ip: string) => outcome(h.client.sendOtp(sendRequest(uniqueEmail("v4")), forwardedFrom(ip)));
    for (let i = 0; i < 5; i++) expect(await send("192.0.2.44")).toBe("ok");
    expect(await send("::ffff:192.0.2.44")).toBe(Code.ResourceExhausted);
    expect(await send("::ffff:c000:22c")).toBe(Code.ResourceExhausted);
    expect(await send("192.0.2.45")).toBe("ok");
  });

  it("names the network of any spelling of an address", () => {
    expect(clientNetwork("2001:DB8:0:0:1:2:3:4")).toBe("2001:db8:0:0::/64");
    expect(clientNetwork("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientNetwork("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(clientNetwork("::")).toBe("0:0:0:0::/64");
    expect(clientNetwork("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(clientNetwork("0:0:0:0:0:ffff:a01:203")).toBe("10.1.2.3");
    expect(clientNetwork("10.1.2.3")).toBe("10.1.2.3");
    expect(clientNetwork("")).toBe("unknown");
    expect(clientNetwork("not an address")).toBe("unknown");
  });
});

describe("the global send budget", () => {
  const budget = 4;
  let h: AuthHarness;

  beforeAll(async () => {
    h = await startAuthHarness({ env: { OTP_GLOBAL_SEND_BUDGET: String(budget) } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const phone = (n: number) => `+4479111${String(n).padStart(5, "0")}`;
  const sms = (n: number) => ({
    identifier: phone(n),
    identifierType: IdentifierType.PHONE,
    purpose: OtpPurpose.LOGIN,
    deviceId: "d",
  });

  it("lets exactly the budget of 20 concurrent SMS sends through across two instances, refuses the rest with RetryInfo, and opens again in the next window", async () => {
    const another = await h.startAnother();
    const clients = [h.client, connectAuthClient(another.baseUrl)];
    const smsRefusals = async () => {
      let total = 0;
      for (const instance of [h.auth, another]) {
        const { values } = await instance.handle.runtime.metrics.otpSendBudgetRefusals.get();
        total += values.find((value) => value.labels.channel === "sms")?.value ?? 0;
      }
      return total;
    };
    const refusalsBefore = await smsRefusals();

    // A send refused by another limit gives its unit back: three codes for one number use three of
    // the four, the fourth for that number is refused by the per-identifier limit, and one more
    // number still gets the last unit.
    for (let i = 0; i < 3; i++) expect(await outcome(h.client.sendOtp(sms(2)))).toBe("ok");
    const perIdentifier = ConnectError.from(await h.client.sendOtp(sms(2)).catch((error: unknown) => error));
    expect(perIdentifier.findDetails(ErrorInfoSchema)[0]?.reason).toBe("OTP_SEND_RATE_LIMITED");
    expect(await outcome(h.client.sendOtp(sms(1)))).toBe("ok");
    const spent = ConnectError.from(await h.client.sendOtp(sms(3)).catch((error: unknown) => error));
    expect(spent.findDetails(ErrorInfoSchema)[0]?.reason).toBe("OTP_SEND_BUDGET_SPENT");

    h.clock.advance(60 * minute); // a fresh window
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) => outcome(clients[index % 2]!.sendOtp(sms(100 + index)))),
    );
    expect(results.filter((answer) => answer === "ok")).toHaveLength(budget);
    expect(results.filter((answer) => answer === Code.ResourceExhausted)).toHaveLength(20 - budget);

    const refused = ConnectError.from(await h.client.sendOtp(sms(200)).catch((error: unknown) => error));
    expect(refused.findDetails(ErrorInfoSchema)[0]?.reason).toBe("OTP_SEND_BUDGET_SPENT");
    const windowEnd = Math.floor(h.clock.now().getTime() / (60 * minute) + 1) * 60 * minute;
    const retrySeconds = Number(refused.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds);
    expect(retrySeconds).toBe(Math.floor((windowEnd - h.clock.now().getTime()) / 1000));
    // Email has a budget of its own.
    await expect(
      h.client.sendOtp({ ...sms(0), identifier: uniqueEmail(), identifierType: IdentifierType.EMAIL }),
    ).resolves.toBeDefined();
    // Each instance counts its own refusals: the one before the race, the race's, the one after it.
    expect(await smsRefusals()).toBe(refusalsBefore + 1 + 20 - budget + 1);

    h.clock.set(new Date(windowEnd));
    expect(await outcome(h.client.sendOtp(sms(200)))).toBe("ok");
  });

  it("keeps the unit of a code that went out even when storing it then fails: failing stores cannot send past the budget", async () => {
    h.clock.advance(60 * minute); // a fresh window
    // Storing codes for these numbers fails, after their delivery (a pool timeout or a failover would).
    const admin = new pg.Client({ connectionString: h.database.url });
    await admin.connect();
    await admin.query(`
      create function refuse_test_codes() returns trigger language plpgsql as
        $$ begin raise exception 'store refused for the test'; end $$;
      create trigger refuse_test_codes before insert on otp_codes for each row
        when (new.identifier like '+44791110%') execute function refuse_test_codes();`);
    try {
      const failing = await Promise.all(
        Array.from({ length: budget }, (_, index) => outcome(h.client.sendOtp(sms(1000 + index)))),
      );
      expect(failing.every((answer) => answer !== "ok")).toBe(true);
      for (let index = 0; index < budget; index++) expect(h.capture.lastCode(phone(1000 + index))).toMatch(/^\d+$/);
      const spent = ConnectError.from(await h.client.sendOtp(sms(400)).catch((error: unknown) => error));
      expect(spent.findDetails(ErrorInfoSchema)[0]?.reason).toBe("OTP_SEND_BUDGET_SPENT");
    } finally {
      await admin.query("drop trigger refuse_test_codes on otp_codes; drop function refuse_test_codes()");
      await admin.end();
    }
  });

  it("never lets requests the per-identifier limit refuses take or hold a unit: a flood on one number leaves the budget to others", async () => {
    h.clock.advance(60 * minute); // a fresh window
    for (let i = 0; i < 3; i++) expect(await outcome(h.client.sendOtp(sms(300)))).toBe("ok");
    // 30 concurrent requests for the saturated number: each is refused by its own limit, none by the
    // budget, and the one unit left is still there afterwards.
    const flood = await Promise.all(
      Array.from({ length: 30 }, () =>
        h.client.sendOtp(sms(300)).then(
          () => "ok",
          (error: unknown) => ConnectError.from(error).findDetails(ErrorInfoSchema)[0]?.reason,
        ),
      ),
    );
    expect(flood.every((reason) => reason === "OTP_SEND_RATE_LIMITED")).toBe(true);
    expect(await outcome(h.client.sendOtp(sms(301)))).toBe("ok");
    // Budget spent: a request over its per-identifier limit is still told about that limit.
    const overLimit = ConnectError.from(await h.client.sendOtp(sms(300)).catch((error: unknown) => error));
    expect(overLimit.findDetails(ErrorInfoSchema)[0]?.reason).toBe("OTP_SEND_RATE_LIMITED");
  });
});
