import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { SessionRevokeReason } from "../../gen/mintcoin/events/v1/auth_events_pb.js";
import { bearer, grpc } from "../fixtures/grpc-clients.js";
import { waitFor } from "../support/index.js";
import {
  callHeaders,
  signIn,
  startAuthHarness,
  uniqueEmail,
  verificationToken,
  type AuthHarness,
} from "./auth-harness.js";

// ListDevices, TrustDevice, BlockDevice, UnblockDevice: the caller's own devices only; trust is
// earned (the registering device, or a trusted device or a stepped-up session vouching); a block
// revokes the device's sessions and keeps it from signing in or refreshing until unblocked.

const iphone =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0";

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (!error) throw new Error("expected the call to fail");
  return error;
}
const reasonOf = (error: ConnectError) => error.findDetails(ErrorInfoSchema)[0]?.reason;

describe("devices: ListDevices, TrustDevice, BlockDevice, UnblockDevice", () => {
  let h: AuthHarness;
  const as = (accessToken: string, ip?: string) => ({ headers: callHeaders({ accessToken, ip }) });

  beforeAll(async () => {
    h = await startAuthHarness({ env: { TRUSTED_PROXIES: "127.0.0.1" } });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** The sessions of a user that are still active, by device id. */
  const activeSessions = async (userId: string) =>
    h.auth.handle.runtime.db
      .selectFrom("sessions")
      .select(["id", "device_id"])
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null)
      .execute();

  it("needs a bearer token for every device RPC", async () => {
    expect((await failure(h.client.listDevices({}))).code).toBe(Code.Unauthenticated);
    expect((await failure(h.client.trustDevice({ deviceId: "x" }))).code).toBe(Code.Unauthenticated);
    expect((await failure(h.client.blockDevice({ deviceId: "x" }))).code).toBe(Code.Unauthenticated);
    expect((await failure(h.client.unblockDevice({ deviceId: "x" }))).code).toBe(Code.Unauthenticated);
  });

  it("lists the caller's devices, most recently used first, with parsed traits, and marks the current one", async () => {
    const email = uniqueEmail();
    const phone = await signIn(h, email, {
      deviceId: "iphone-1",
      deviceName: "Ada's iPhone",
      userAgent: iphone,
      ip: "198.51.100.10",
    });
    h.clock.advance(1_000);
    const laptop = await signIn(h, email, {
      deviceId: "laptop-1",
      deviceName: "Work laptop",
      userAgent: firefox,
      ip: "198.51.100.11",
    });
    await signIn(h, uniqueEmail(), { deviceId: "someone-elses" });

    const { devices } = await h.client.listDevices({}, as(phone.tokens!.accessToken));
    expect(devices.map((d) => d.deviceId)).toEqual(["laptop-1", "iphone-1"]);
    expect(devices.map((d) => d.current)).toEqual([false, true]);
    expect(devices[1]).toMatchObject({
      deviceName: "Ada's iPhone",
      deviceType: "mobile",
      osName: "iOS",
      osVersion: "17.4",
      browserName: "Mobile Safari",
      // The device that registered the account starts trusted; the laptop has to earn it.
      trusted: true,
      blocked: false,
      blockedReason: "",
      lastIp: "198.51.100.10",
    });
    expect(devices[0]).toMatchObject({
      deviceType: "desktop",
      osName: "Linux",
      browserName: "Firefox",
      lastIp: "198.51.100.11",
      trusted: false,
    });
    expect(devices[1]!.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(devices[1]!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(devices[1]!.createdAt).toEqual(devices[1]!.lastUsedAt);

    const grpcAnswer = await h.grpc.ListDevices({}, bearer(laptop.tokens!.accessToken));
    const grpcDevices = grpcAnswer.devices as Array<{ device_id: string; current: boolean; os_name: string }>;
    expect(grpcDevices.find((d) => d.current)).toMatchObject({ device_id: "laptop-1", os_name: "Linux" });
  });

  it("trusts a device once (one auth.device.trusted), after which its sign-ins skip the new-IP check", async () => {
    const email = uniqueEmail();
    const phone = await signIn(h, email, { deviceId: "phone", ip: "203.0.113.20" });
    await signIn(h, email, { deviceId: "tablet", ip: "203.0.113.21" });

    const { device } = await h.client.trustDevice(
      { deviceId: "tablet" },
      as(phone.tokens!.accessToken, "203.0.113.20"),
    );
    expect(device).toMatchObject({ deviceId: "tablet", trusted: true, blocked: false, current: false });
    await h.client.trustDevice({ deviceId: "tablet" }, as(phone.tokens!.accessToken));
    const trusted = await waitFor(() => h.events.decoded("auth.device.trusted").find((e) => e.userId === phone.userId));
    expect(trusted).toMatchObject({ deviceId: "tablet", ipAddress: "203.0.113.20" });

    h.clock.advance(15 * 60_000); // out of the code-send window
    const fromElsewhere = await signIn(h, email, { deviceId: "tablet", ip: "192.0.2.77" });
    const login = await waitFor(() =>
      h.events.decoded("auth.login").find((e) => e.sessionId === fromElsewhere.sessionId),
    );
    expect(login).toMatchObject({ trustedDevice: true, suspicious: false });
    expect(h.events.decoded("auth.device.trusted").filter((e) => e.userId === phone.userId)).toHaveLength(1);
  });

  it("refuses a session on a new device that tries to trust itself, even after signing in again, until that session steps up", async () => {
    const email = uniqueEmail();
    await signIn(h, email, { deviceId: "first-phone" });
    const newcomer = await signIn(h, email, { deviceId: "newcomer" });
    const asNewcomer = as(newcomer.tokens!.accessToken);
    const error = await failure(h.client.trustDevice({ deviceId: "newcomer" }, asNewcomer));
    expect(error.code).toBe(Code.PermissionDenied);
    expect(reasonOf(error)).toBe("STEP_UP_REQUIRED");

    // A second sign-in on the device is a fresh authentication, but of the identifier, not of the device.
    h.clock.advance(15 * 60_000);
    const again = await signIn(h, email, { deviceId: "newcomer" });
    expect(again.stepUpRequired).toBe(false);
    const stillRefused = await failure(h.client.trustDevice({ deviceId: "newcomer" }, as(again.tokens!.accessToken)));
    expect(reasonOf(stillRefused)).toBe("STEP_UP_REQUIRED");
    const grpcRefusal = await h.grpc
      .TrustDevice({ device_id: "newcomer" }, bearer(again.tokens!.accessToken))
      .catch((e: grpc.ServiceError) => e);
    expect((grpcRefusal as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);

    const stepped = await h.client.stepUp(
      { proof: { case: "verificationToken", value: await verificationToken(h, email, OtpPurpose.STEP_UP) } },
      as(again.tokens!.accessToken),
    );
    const { device } = await h.client.trustDevice({ deviceId: "newcomer" }, as(stepped.accessToken));
    expect(device).toMatchObject({ deviceId: "newcomer", trusted: true, current: true });
    await waitFor(() => h.events.decoded("auth.device.trusted").find((e) => e.userId === newcomer.userId));
  });

  it("lets a trusted device trust another only while its authentication is recent", async () => {
    const email = uniqueEmail();
    const phone = await signIn(h, email, { deviceId: "phone" });
    await signIn(h, email, { deviceId: "tablet" });
    h.clock.advance(5 * 60_000 + 1_000);
    const error = await failure(h.client.trustDevice({ deviceId: "tablet" }, as(phone.tokens!.accessToken)));
    expect(reasonOf(error)).toBe("STEP_UP_REQUIRED");
    expect(error.findDetails(ErrorInfoSchema)[0]?.metadata).toEqual({ max_age_seconds: "300" });

    const stepped = await h.client.stepUp(
      { proof: { case: "verificationToken", value: await verificationToken(h, email, OtpPurpose.STEP_UP) } },
      as(phone.tokens!.accessToken),
    );
    await expect(h.client.trustDevice({ deviceId: "tablet" }, as(stepped.accessToken))).resolves.toMatchObject({
      device: { deviceId: "tablet", trusted: true },
    });
  });

  it("answers NOT_FOUND for a device the caller does not have, even when another user has it", async () => {
    const mine = await signIn(h, uniqueEmail(), { deviceId: "mine" });
    await signIn(h, uniqueEmail(), { deviceId: "theirs" });
    // One call at a time: promises made up front could reject before the loop awaits them (an unhandled rejection).
    for (const call of [
      () => h.client.trustDevice({ deviceId: "theirs" }, as(mine.tokens!.accessToken)),
      () => h.client.blockDevice({ deviceId: "theirs" }, as(mine.tokens!.accessToken)),
      () => h.client.unblockDevice({ deviceId: "nowhere" }, as(mine.tokens!.accessToken)),
    ]) {
      const error = await failure(call());
      expect(error.code).toBe(Code.NotFound);
      expect(reasonOf(error)).toBe("DEVICE_NOT_FOUND");
    }
    const error = await h.grpc
      .BlockDevice({ device_id: "theirs" }, bearer(mine.tokens!.accessToken))
      .catch((e: grpc.ServiceError) => e);
    expect((error as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
  });

  it("refuses to block the device of the calling session with FAILED_PRECONDITION", async () => {
    const login = await signIn(h, uniqueEmail(), { deviceId: "here" });
    const error = await failure(h.client.blockDevice({ deviceId: "here" }, as(login.tokens!.accessToken)));
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(reasonOf(error)).toBe("DEVICE_IS_CURRENT");
    expect(await activeSessions(login.userId)).toHaveLength(1);
  });

  it("blocks a device: revokes exactly its sessions (device_blocked), announces the block, and its tokens stop working", async () => {
    const email = uniqueEmail();
    const keeper = await signIn(h, email, { deviceId: "keeper" });
    const lostA = await signIn(h, email, { deviceId: "lost" });
    const lostB = await signIn(h, email, { deviceId: "lost" });

    const answer = await h.client.blockDevice(
      { deviceId: "lost", reason: "stolen on the train" },
      as(keeper.tokens!.accessToken, "198.51.100.30"),
    );
    expect(answer.revokedSessionCount).toBe(2);
    expect(answer.device).toMatchObject({
      deviceId: "lost",
      blocked: true,
      blockedReason: "stolen on the train",
      trusted: false,
    });
    expect((await activeSessions(keeper.userId)).map((s) => s.id)).toEqual([keeper.sessionId]);

    const blocked = await waitFor(() =>
      h.events.decoded("auth.device.blocked").find((e) => e.userId === keeper.userId),
    );
    expect(blocked).toMatchObject({ deviceId: "lost", reason: "stolen on the train", ipAddress: "198.51.100.30" });
    expect([...blocked!.revokedSessionIds].sort()).toEqual([lostA.sessionId, lostB.sessionId].sort());
    const revoked = await waitFor(() => {
      const events = h.events.decoded("auth.session.revoked").filter((e) => e.userId === keeper.userId);
      return events.length === 2 ? events : undefined;
    });
    for (const event of revoked!) {
      expect(event).toMatchObject({
        reason: "device_blocked",
        reasonCode: SessionRevokeReason.DEVICE_BLOCKED,
        deviceId: "lost",
        revokedByUserId: keeper.userId,
      });
    }

    expect((await failure(h.client.listDevices({}, as(lostA.tokens!.accessToken)))).code).toBe(Code.Unauthenticated);
    expect((await h.client.validateToken({ accessToken: lostB.tokens!.accessToken })).valid).toBe(false);
    expect(
      (await failure(h.client.refreshToken({ refreshToken: lostA.tokens!.refreshToken, deviceId: "lost" }))).code,
    ).toBe(Code.Unauthenticated);
    await expect(h.client.listDevices({}, as(keeper.tokens!.accessToken))).resolves.toBeDefined();
  });

  it("keeps a blocked device from signing in, and a second block keeps the first reason and announces nothing", async () => {
    const email = uniqueEmail();
    const keeper = await signIn(h, email, { deviceId: "keeper" });
    await signIn(h, email, { deviceId: "lost" });
    await h.client.blockDevice({ deviceId: "lost", reason: "first" }, as(keeper.tokens!.accessToken));
    const again = await h.client.blockDevice({ deviceId: "lost", reason: "second" }, as(keeper.tokens!.accessToken));
    expect(again).toMatchObject({ revokedSessionCount: 0, device: { blocked: true, blockedReason: "first" } });

    h.clock.advance(15 * 60_000);
    const token = await verificationToken(h, email);
    const error = await failure(h.client.login({ verificationToken: token, deviceId: "lost" }));
    expect(error.code).toBe(Code.PermissionDenied);
    expect(reasonOf(error)).toBe("DEVICE_BLOCKED");
    // Events arrive in the order they were recorded: once the later code's verification is in, a
    // second auth.device.blocked would be too.
    await waitFor(() => h.events.decoded("auth.otp.verified").filter((e) => e.identifier === email).length === 3);
    expect(h.events.decoded("auth.device.blocked").filter((e) => e.userId === keeper.userId)).toHaveLength(1);
  });

  it("refuses a refresh from a device that is blocked (RefreshToken reads the flag)", async () => {
    const login = await signIn(h, uniqueEmail(), { deviceId: "flagged" });
    // A session that outlived its device's block (written straight to the table: the RPC revokes them).
    await h.auth.handle.runtime.db
      .updateTable("devices")
      .set({ blocked: true })
      .where("user_id", "=", login.userId)
      .execute();
    const error = await failure(
      h.client.refreshToken({ refreshToken: login.tokens!.refreshToken, deviceId: "flagged" }),
    );
    expect(error.code).toBe(Code.PermissionDenied);
    expect(reasonOf(error)).toBe("DEVICE_BLOCKED");
  });

  it("refuses to trust a blocked device, and unblocks it untrusted (one auth.device.unblocked), after which it signs in again", async () => {
    const email = uniqueEmail();
    const keeper = await signIn(h, email, { deviceId: "keeper" });
    await signIn(h, email, { deviceId: "found" });
    await h.client.trustDevice({ deviceId: "found" }, as(keeper.tokens!.accessToken));
    await h.client.blockDevice({ deviceId: "found", reason: "lost it" }, as(keeper.tokens!.accessToken));

    const error = await failure(h.client.trustDevice({ deviceId: "found" }, as(keeper.tokens!.accessToken)));
    expect(error.code).toBe(Code.FailedPrecondition);

    const { device } = await h.client.unblockDevice(
      { deviceId: "found" },
      as(keeper.tokens!.accessToken, "198.51.100.40"),
    );
    expect(device).toMatchObject({ blocked: false, blockedReason: "", trusted: false });
    await h.client.unblockDevice({ deviceId: "found" }, as(keeper.tokens!.accessToken));
    const unblocked = await waitFor(() =>
      h.events.decoded("auth.device.unblocked").find((e) => e.userId === keeper.userId),
    );
    expect(unblocked).toMatchObject({ deviceId: "found", ipAddress: "198.51.100.40" });

    h.clock.advance(15 * 60_000);
    const again = await signIn(h, email, { deviceId: "found" });
    expect(again.userId).toBe(keeper.userId);
    await waitFor(() => h.events.decoded("auth.login").some((e) => e.sessionId === again.sessionId));
    expect(h.events.decoded("auth.device.unblocked").filter((e) => e.userId === keeper.userId)).toHaveLength(1);
  });

  it("leaves no live session on a device when sign-ins on it race its block", async () => {
    const email = uniqueEmail();
    const keeper = await signIn(h, email, { deviceId: "keeper" });
    const password = "correct horse battery staple";
    await h.client.setPassword({ password }, as(keeper.tokens!.accessToken));
    h.clock.advance(15 * 60_000);
    // Blocking is a sensitive action: the keeper steps up first (with the password: the codes below
    // use up the identifier's sends).
    const { accessToken: keeperToken } = await h.client.stepUp(
      { proof: { case: "password", value: password } },
      as(keeper.tokens!.accessToken),
    );
    const tokens = [
      await verificationToken(h, email),
      await verificationToken(h, email),
      await verificationToken(h, email),
    ];

    const [block, ...logins] = await Promise.allSettled([
      h.client.blockDevice({ deviceId: "contested" }, as(keeperToken)).catch(async (error: unknown) => {
        // The device may not exist yet when the block runs first: block it once a sign-in created it.
        if (ConnectError.from(error).code !== Code.NotFound) throw error;
        await waitFor(() =>
          h.auth.handle.runtime.db
            .selectFrom("devices")
            .select("id")
            .where("device_id", "=", "contested")
            .executeTakeFirst(),
        );
        return h.client.blockDevice({ deviceId: "contested" }, as(keeperToken));
      }),
      ...tokens.map((token) => h.client.login({ verificationToken: token, deviceId: "contested" })),
    ]);
    expect(block.status).toBe("fulfilled");
    for (const login of logins) {
      if (login.status === "rejected") expect(ConnectError.from(login.reason).code).toBe(Code.PermissionDenied);
    }
    expect((await activeSessions(keeper.userId)).filter((s) => s.device_id === "contested")).toEqual([]);
  });
});
