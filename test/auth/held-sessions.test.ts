import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import {
  callHeaders,
  signIn,
  startAuthHarness,
  uniqueEmail,
  verificationToken,
  type AuthHarness,
} from "./auth-harness.js";

// A sign-in held for step-up (a new device, under the default risk policy) proved one thing: the
// password, or a code to one identifier. Stepping up must take another proof, or the same password
// typed twice would reach every sensitive RPC; and a held session must not end or block the owner's
// other sessions and devices (docs/product.md, "Step-up").

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (!error) throw new Error("expected the call to fail");
  return error;
}
const reasonOf = (error: ConnectError) => error.findDetails(ErrorInfoSchema)[0]?.reason;

const password = "correct horse battery staple";
let phones = 0;
function uniquePhone(): string {
  phones += 1;
  return `+1415556${String((process.pid * 7 + phones) % 10_000).padStart(4, "0")}`;
}

describe("held sessions: step up with another proof than the sign-in's", () => {
  let h: AuthHarness;
  const as = (accessToken: string) => ({ headers: callHeaders({ accessToken }) });
  const stepUpToken = (email: string) => verificationToken(h, email, OtpPurpose.STEP_UP);
  const stepUpWith = (accessToken: string, proof: { case: "verificationToken" | "password"; value: string }) =>
    h.client.stepUp({ proof }, as(accessToken));

  beforeAll(async () => {
    h = await startAuthHarness({ env: { TRUSTED_PROXIES: "127.0.0.1", OTP_IP_RATE_LIMIT_MAX_REQUESTS: "1000" } });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** An account registered on the trusted device "first", with a password, and optionally a phone. */
  async function account(options: { phone?: boolean } = {}) {
    const email = uniqueEmail("held");
    const first = await signIn(h, email, { deviceId: "first" });
    await h.client.setPassword({ password }, as(first.tokens!.accessToken));
    let phone: string | undefined;
    if (options.phone) {
      phone = uniquePhone();
      const id = { identifier: phone, identifierType: IdentifierType.PHONE };
      await h.client.sendOtp({ ...id, purpose: OtpPurpose.PHONE_VERIFICATION, deviceId: "first" });
      const { verificationToken: token } = await h.client.verifyOtp({
        ...id,
        purpose: OtpPurpose.PHONE_VERIFICATION,
        code: h.capture.lastCode(phone),
      });
      await h.client.linkIdentifier({ verificationToken: token }, as(first.tokens!.accessToken));
    }
    return { email, phone, first };
  }

  async function phoneStepUpToken(phone: string): Promise<string> {
    const id = { identifier: phone, identifierType: IdentifierType.PHONE };
    await h.client.sendOtp({ ...id, purpose: OtpPurpose.STEP_UP, deviceId: "d" });
    const answer = await h.client.verifyOtp({ ...id, purpose: OtpPurpose.STEP_UP, code: h.capture.lastCode(phone) });
    return answer.verificationToken;
  }

  it("refuses the password to step up a held password sign-in, counting no guess, and takes a code", async () => {
    const { email } = await account();
    const held = await h.client.loginWithPassword({
      identifier: email,
      identifierType: IdentifierType.EMAIL,
      password,
      deviceId: "second",
    });
    expect(held.stepUpRequired).toBe(true);
    const heldToken = held.tokens!.accessToken;
    for (let i = 0; i < 6; i++) {
      const refused = await failure(stepUpWith(heldToken, { case: "password", value: password }));
      expect(refused.code).toBe(Code.PermissionDenied);
      expect(reasonOf(refused)).toBe("STEP_UP_PROOF_NOT_ACCEPTED");
    }
    expect(reasonOf(await failure(h.client.setPassword({ password: "a new one entirely" }, as(heldToken))))).toBe(
      "STEP_UP_REQUIRED",
    );

    const stepped = await stepUpWith(heldToken, { case: "verificationToken", value: await stepUpToken(email) });
    expect(stepped.amr).toEqual(["otp"]);
    await expect(h.client.setPassword({ password }, as(stepped.accessToken))).resolves.toBeDefined();
    // Stepped up once, the session holds an authentication: the password steps it up again later.
    await expect(stepUpWith(stepped.accessToken, { case: "password", value: password })).resolves.toMatchObject({
      amr: ["pwd"],
    });
  });

  it("refuses a code to the sign-in's own identifier, for StepUp and for SetPassword's own token, leaving it usable", async () => {
    const { email } = await account();
    const held = await signIn(h, email, { deviceId: "second" });
    expect(held.stepUpRequired).toBe(true);
    const heldToken = held.tokens!.accessToken;

    const token = await stepUpToken(email);
    const refused = await failure(stepUpWith(heldToken, { case: "verificationToken", value: token }));
    expect(refused.code).toBe(Code.PermissionDenied);
    expect(reasonOf(refused)).toBe("STEP_UP_PROOF_NOT_ACCEPTED");
    const viaSetPassword = await failure(
      h.client.setPassword({ verificationToken: token, password: "chosen by the thief" }, as(heldToken)),
    );
    expect(reasonOf(viaSetPassword)).toBe("STEP_UP_PROOF_NOT_ACCEPTED");

    // The password set before this session started is another proof; the refused token is still
    // good for a session that may use it.
    await expect(stepUpWith(heldToken, { case: "password", value: password })).resolves.toMatchObject({ amr: ["pwd"] });
    const other = await signIn(h, uniqueEmail("held"), { deviceId: "x" });
    expect(
      reasonOf(await failure(stepUpWith(other.tokens!.accessToken, { case: "verificationToken", value: token }))),
    ).toBe("VERIFICATION_TOKEN_INVALID");
  });

  it("steps a held code sign-in up with a code to another identifier the account held before it", async () => {
    const { email, phone } = await account({ phone: true });
    const held = await signIn(h, email, { deviceId: "second" });
    expect(held.stepUpRequired).toBe(true);
    const stepped = await stepUpWith(held.tokens!.accessToken, {
      case: "verificationToken",
      value: await phoneStepUpToken(phone!),
    });
    expect(stepped.amr).toEqual(["otp"]);
  });

  it("refuses the password to a held code sign-in when it was set after the session started", async () => {
    const email = uniqueEmail("held");
    const first = await signIn(h, email, { deviceId: "first" });
    const held = await signIn(h, email, { deviceId: "second" });
    h.clock.advance(1_000);
    await h.client.setPassword({ password }, as(first.tokens!.accessToken));
    const refused = await failure(stepUpWith(held.tokens!.accessToken, { case: "password", value: password }));
    expect(reasonOf(refused)).toBe("STEP_UP_PROOF_NOT_ACCEPTED");
  });

  it("keeps a held session from blocking or unblocking devices and from signing out other sessions", async () => {
    const { email, first } = await account();
    const held = await signIn(h, email, { deviceId: "second" });
    const heldToken = held.tokens!.accessToken;
    for (const call of [
      () => h.client.blockDevice({ deviceId: "first", reason: "mine now" }, as(heldToken)),
      () => h.client.unblockDevice({ deviceId: "first" }, as(heldToken)),
      () => h.client.revokeAllSessions({ keepCurrent: true }, as(heldToken)),
      () => h.client.revokeSession({ sessionId: first.sessionId }, as(heldToken)),
      () => h.client.logout({ sessionId: first.sessionId }, as(heldToken)),
    ]) {
      const error = await failure(call());
      expect(error.code).toBe(Code.PermissionDenied);
      expect(reasonOf(error)).toBe("STEP_UP_REQUIRED");
    }
    const devices = await h.client.listDevices({}, as(first.tokens!.accessToken));
    expect(devices.devices.find((d) => d.deviceId === "first")).toMatchObject({ blocked: false, trusted: true });
    // The held session can still sign itself out.
    await expect(h.client.logout({}, as(heldToken))).resolves.toBeDefined();
  });

  it("lets a session with an authentication of any age sign everyone out, but block a device only within the step-up window", async () => {
    const { email, first } = await account();
    await signIn(h, email, { deviceId: "second" });
    h.clock.advance(10 * 60_000);
    const late = await failure(h.client.blockDevice({ deviceId: "second" }, as(first.tokens!.accessToken)));
    expect(reasonOf(late)).toBe("STEP_UP_REQUIRED");
    const { revokedCount } = await h.client.revokeAllSessions({ keepCurrent: true }, as(first.tokens!.accessToken));
    expect(revokedCount).toBe(1);
  });
});
