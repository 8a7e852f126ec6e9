import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { LoginMethod } from "../../gen/mintcoin/events/v1/auth_events_pb.js";
import { createTokenVerifier, requireRecentAuthentication } from "../../services/client/index.js";
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

// Step-up: access tokens carry the session's last active authentication (auth_time, amr); a refresh
// keeps it; StepUp renews it with a STEP_UP code or the password; sensitive RPCs and other services
// (through the client package) refuse an authentication older than STEP_UP_MAX_AGE with
// PERMISSION_DENIED / STEP_UP_REQUIRED. Time moves on the harness's clock, never by sleeping.

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (!error) throw new Error("expected the call to fail");
  return error;
}
const infoOf = (error: ConnectError) => error.findDetails(ErrorInfoSchema)[0];

/** The ErrorInfo in a grpc-js error's grpc-status-details-bin (a google.rpc.Status). */
function grpcErrorInfo(error: grpc.ServiceError) {
  const status = error.metadata.get("grpc-status-details-bin")[0] as Buffer;
  const reader = new BinaryReader(status);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field !== 3) {
      reader.skip(wireType);
      continue;
    }
    const any = new BinaryReader(reader.bytes());
    let typeUrl = "";
    let value: Uint8Array = new Uint8Array();
    while (any.pos < any.len) {
      const [inner, innerType] = any.tag();
      if (inner === 1) typeUrl = any.string();
      else if (inner === 2) value = any.bytes();
      else any.skip(innerType);
    }
    if (typeUrl.endsWith("google.rpc.ErrorInfo")) return fromBinary(ErrorInfoSchema, value);
  }
  return undefined;
}

const password = "correct horse battery staple";
const maxAgeMs = 5 * 60_000;

describe("step-up: auth_time, StepUp and recent authentication", () => {
  let h: AuthHarness;
  const as = (accessToken: string, ip?: string) => ({ headers: callHeaders({ accessToken, ip }) });

  beforeAll(async () => {
    h = await startAuthHarness({ env: { TRUSTED_PROXIES: "127.0.0.1", OTP_IP_RATE_LIMIT_MAX_REQUESTS: "1000" } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const claimsOf = (accessToken: string) => decodeJwt(accessToken) as { auth_time?: number; amr?: string[] };
  const nowSeconds = () => Math.floor(h.clock.now().getTime() / 1000);
  const stepUpToken = (email: string) => verificationToken(h, email, OtpPurpose.STEP_UP);

  it("puts the sign-in's auth_time and amr in the access token and ValidateToken, and a refresh keeps them", async () => {
    const email = uniqueEmail("stepup");
    const login = await signIn(h, email);
    const signedInAt = nowSeconds();
    const jwks = createRemoteJWKSet(new URL(`${h.auth.baseUrl}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(login.tokens!.accessToken, jwks, { currentDate: h.clock.now() });
    expect(payload).toMatchObject({ auth_time: signedInAt, amr: ["otp"] });

    const validated = await h.client.validateToken({ accessToken: login.tokens!.accessToken });
    expect(validated.amr).toEqual(["otp"]);
    expect(Number(validated.authTime!.seconds)).toBe(signedInAt);
    const viaGrpc = await h.grpc.ValidateToken({ access_token: login.tokens!.accessToken });
    expect(viaGrpc).toMatchObject({ valid: true, amr: ["otp"], auth_time: { seconds: String(signedInAt) } });

    h.clock.advance(10 * 60_000);
    const { tokens } = await h.client.refreshToken({ refreshToken: login.tokens!.refreshToken, deviceId: "device-1" });
    expect(claimsOf(tokens!.accessToken)).toMatchObject({ auth_time: signedInAt, amr: ["otp"] });
  });

  it("refuses a sensitive RPC once the authentication is older than STEP_UP_MAX_AGE, with PERMISSION_DENIED, STEP_UP_REQUIRED and the max age, over Connect and grpc-js", async () => {
    const email = uniqueEmail("stepup");
    const login = await signIn(h, email);
    h.clock.advance(maxAgeMs + 1_000);
    // The access token itself is still valid (15 minutes): only the authentication is too old.
    const phone = `+1415555${String(2000 + (process.pid % 7000)).padStart(4, "0")}`;
    const identifier = { identifier: phone, identifierType: IdentifierType.PHONE };
    await h.client.sendOtp({ ...identifier, purpose: OtpPurpose.PHONE_VERIFICATION, deviceId: "d" });
    const { verificationToken: token } = await h.client.verifyOtp({
      ...identifier,
      purpose: OtpPurpose.PHONE_VERIFICATION,
      code: h.capture.lastCode(phone),
    });
    const error = await failure(h.client.linkIdentifier({ verificationToken: token }, as(login.tokens!.accessToken)));
    expect(error.code).toBe(Code.PermissionDenied);
    expect(infoOf(error)).toMatchObject({
      reason: "STEP_UP_REQUIRED",
      domain: "identity.mintcoin",
      metadata: { max_age_seconds: "300" },
    });

    const grpcError = (await h.grpc
      .SetPassword({ password }, bearer(login.tokens!.accessToken))
      .catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
    expect(grpcError.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(grpcErrorInfo(grpcError)).toMatchObject({
      reason: "STEP_UP_REQUIRED",
      metadata: { max_age_seconds: "300" },
    });

    // The refused call left the verification token unused: step up, then the same token links.
    const stepped = await h.client.stepUp(
      { proof: { case: "verificationToken", value: await stepUpToken(email) } },
      as(login.tokens!.accessToken),
    );
    await expect(h.client.linkIdentifier({ verificationToken: token }, as(stepped.accessToken))).resolves.toMatchObject(
      { identifier: phone },
    );
  });

  it("steps a session up with a STEP_UP code: a new access token with a fresh auth_time, the same refresh token, refreshes that keep it, and auth.session.stepped_up", async () => {
    const email = uniqueEmail("stepup");
    const login = await signIn(h, email, { deviceId: "phone" });
    h.clock.advance(maxAgeMs + 1_000);
    const token = await stepUpToken(email);
    const stepped = await h.client.stepUp(
      { proof: { case: "verificationToken", value: token } },
      as(login.tokens!.accessToken, "198.51.100.70"),
    );
    const steppedAt = nowSeconds();
    expect(stepped).toMatchObject({ tokenType: "Bearer", expiresIn: 900n, amr: ["otp"] });
    expect(Number(stepped.authTime!.seconds)).toBe(steppedAt);
    expect(claimsOf(stepped.accessToken)).toMatchObject({ auth_time: steppedAt, amr: ["otp"], sid: login.sessionId });
    await expect(h.client.setPassword({ password }, as(stepped.accessToken))).resolves.toBeDefined();

    // The refresh token was not rotated, and the session remembers the step-up.
    h.clock.advance(60_000);
    const { tokens } = await h.client.refreshToken({ refreshToken: login.tokens!.refreshToken, deviceId: "phone" });
    expect(claimsOf(tokens!.accessToken)).toMatchObject({ auth_time: steppedAt, amr: ["otp"] });

    const event = await waitFor(() =>
      h.events.decoded("auth.session.stepped_up").find((e) => e.sessionId === login.sessionId),
    );
    expect(event).toMatchObject({
      userId: login.userId,
      deviceId: "phone",
      method: LoginMethod.OTP,
      ipAddress: "198.51.100.70",
    });
    expect(Math.floor(timestampDate(event!.occurredAt!).getTime() / 1000)).toBe(steppedAt);

    // Used once: the same code does not step up twice.
    const again = await failure(
      h.client.stepUp({ proof: { case: "verificationToken", value: token } }, as(tokens!.accessToken)),
    );
    expect(again.code).toBe(Code.PermissionDenied);
    expect(infoOf(again)?.reason).toBe("VERIFICATION_TOKEN_INVALID");
  });

  it("refuses a STEP_UP token for someone else's identifier and a token of another purpose, leaving them usable", async () => {
    const me = await signIn(h, uniqueEmail("stepup"));
    const otherEmail = uniqueEmail("other");
    const other = await signIn(h, otherEmail);
    const theirs = await stepUpToken(otherEmail);
    const login = await verificationToken(h, otherEmail);
    for (const value of [theirs, login, "mvt_garbled"]) {
      const error = await failure(
        h.client.stepUp({ proof: { case: "verificationToken", value } }, as(me.tokens!.accessToken)),
      );
      expect(error.code).toBe(Code.PermissionDenied);
      expect(infoOf(error)?.reason).toBe("VERIFICATION_TOKEN_INVALID");
    }
    await expect(
      h.client.stepUp({ proof: { case: "verificationToken", value: theirs } }, as(other.tokens!.accessToken)),
    ).resolves.toMatchObject({ amr: ["otp"] });
    await expect(h.client.login({ verificationToken: login, deviceId: "device-1" })).resolves.toMatchObject({
      userId: other.userId,
    });
  });

  it("steps up with the password (amr pwd) over grpc-js, refuses a wrong one with PERMISSION_DENIED and locks after five", async () => {
    const email = uniqueEmail("stepup");
    const login = await signIn(h, email);
    await h.client.setPassword({ password }, as(login.tokens!.accessToken));
    h.clock.advance(maxAgeMs + 1_000);

    const answer = await h.grpc.StepUp({ password }, bearer(login.tokens!.accessToken));
    expect(answer).toMatchObject({ token_type: "Bearer", amr: ["pwd"] });
    expect(claimsOf(answer.access_token as string)).toMatchObject({ auth_time: nowSeconds(), amr: ["pwd"] });
    const event = await waitFor(() =>
      h.events.decoded("auth.session.stepped_up").find((e) => e.sessionId === login.sessionId),
    );
    expect(event?.method).toBe(LoginMethod.PASSWORD);

    for (let i = 0; i < 5; i++) {
      const error = await failure(
        h.client.stepUp({ proof: { case: "password", value: "not the password" } }, as(login.tokens!.accessToken)),
      );
      expect(error.code).toBe(Code.PermissionDenied);
      expect(infoOf(error)?.reason).toBe("CREDENTIALS_INVALID");
    }
    const locked = await failure(
      h.client.stepUp({ proof: { case: "password", value: password } }, as(login.tokens!.accessToken)),
    );
    expect(locked.code).toBe(Code.ResourceExhausted);
    expect(infoOf(locked)?.reason).toBe("PASSWORD_LOCKED");
    // The lock is the step-up's own: signing in with the password still works.
    await expect(
      h.client.loginWithPassword(
        { identifier: email, identifierType: IdentifierType.EMAIL, password, deviceId: "device-1" },
        { headers: callHeaders({ ip: "198.51.100.71" }) },
      ),
    ).resolves.toMatchObject({ userId: login.userId });
  });

  it("refuses a password step-up for an account without a password, the same way as a wrong one", async () => {
    const login = await signIn(h, uniqueEmail("stepup"));
    const error = await failure(
      h.client.stepUp({ proof: { case: "password", value: password } }, as(login.tokens!.accessToken)),
    );
    expect(error.code).toBe(Code.PermissionDenied);
    expect(infoOf(error)?.reason).toBe("CREDENTIALS_INVALID");
  });

  it("needs a bearer token and one proof", async () => {
    expect((await failure(h.client.stepUp({ proof: { case: "password", value: password } }))).code).toBe(
      Code.Unauthenticated,
    );
    const login = await signIn(h, uniqueEmail("stepup"));
    expect((await failure(h.client.stepUp({}, as(login.tokens!.accessToken)))).code).toBe(Code.InvalidArgument);
  });

  it("lets SetPassword take a verification token as its own step-up, without changing the session's auth_time", async () => {
    const email = uniqueEmail("stepup");
    const login = await signIn(h, email);
    const signedInAt = nowSeconds();
    h.clock.advance(maxAgeMs + 1_000);
    await expect(
      h.client.setPassword({ verificationToken: await stepUpToken(email), password }, as(login.tokens!.accessToken)),
    ).resolves.toBeDefined();
    const refused = await failure(h.client.setPassword({ password }, as(login.tokens!.accessToken)));
    expect(infoOf(refused)?.reason).toBe("STEP_UP_REQUIRED");
    const { tokens } = await h.client.refreshToken({ refreshToken: login.tokens!.refreshToken, deviceId: "device-1" });
    expect(claimsOf(tokens!.accessToken).auth_time).toBe(signedInAt);
  });

  it("gives a sign-in held for step-up (a new device) no auth_time until the person steps up", async () => {
    const email = uniqueEmail("stepup");
    const first = await signIn(h, email, { deviceId: "first" });
    await h.client.setPassword({ password }, as(first.tokens!.accessToken));
    const held = await signIn(h, email, { deviceId: "second" });
    expect(held.stepUpRequired).toBe(true);
    expect(claimsOf(held.tokens!.accessToken)).not.toHaveProperty("auth_time");
    const validated = await h.client.validateToken({ accessToken: held.tokens!.accessToken });
    expect(validated).toMatchObject({ valid: true, amr: [] });
    expect(validated.authTime).toBeUndefined();

    const error = await failure(h.client.setPassword({ password }, as(held.tokens!.accessToken)));
    expect(infoOf(error)?.reason).toBe("STEP_UP_REQUIRED");
    const { tokens } = await h.client.refreshToken({ refreshToken: held.tokens!.refreshToken, deviceId: "second" });
    expect(claimsOf(tokens!.accessToken)).not.toHaveProperty("auth_time");

    // Held after a code to this email, it steps up with another proof: the password set before it.
    const stepped = await h.client.stepUp({ proof: { case: "password", value: password } }, as(tokens!.accessToken));
    await expect(h.client.setPassword({ password }, as(stepped.accessToken))).resolves.toBeDefined();
  });

  it("lets another service require a recent authentication through the client package, on the harness's clock", async () => {
    // The other service's verifier checks expiry on the real clock: start the harness's there.
    h.clock.set(new Date());
    const email = uniqueEmail("stepup");
    const login = await signIn(h, email);
    const verifier = createTokenVerifier({
      jwksUrl: `${h.auth.baseUrl}/.well-known/jwks.json`,
      issuer: "mintcoin-auth",
      audience: "mintcoin",
    });
    const caller = await verifier.verify(login.tokens!.accessToken);
    expect(() => requireRecentAuthentication(caller, { maxAgeSeconds: 300, now: h.clock.now() })).not.toThrow();

    h.clock.advance(maxAgeMs + 1_000);
    const error = ConnectError.from(
      (() => {
        try {
          requireRecentAuthentication(caller, { maxAgeSeconds: 300, now: h.clock.now() });
        } catch (e) {
          return e;
        }
        throw new Error("expected a refusal");
      })(),
    );
    expect(error.code).toBe(Code.PermissionDenied);
    expect(infoOf(error)).toMatchObject({ reason: "STEP_UP_REQUIRED", metadata: { max_age_seconds: "300" } });

    const stepped = await h.client.stepUp(
      { proof: { case: "verificationToken", value: await stepUpToken(email) } },
      as(login.tokens!.accessToken),
    );
    // Issued on the harness's clock, 5 minutes ahead of the real one: asked about rather than verified here.
    const fresh = await h.client.validateToken({ accessToken: stepped.accessToken });
    expect(fresh.amr).toEqual(["otp"]);
    expect(() =>
      requireRecentAuthentication(
        { authTime: timestampDate(fresh.authTime!) },
        { maxAgeSeconds: 300, now: h.clock.now() },
      ),
    ).not.toThrow();
  });

  it("answers UNAUTHENTICATED when the session was signed out", async () => {
    const email = uniqueEmail("stepup");
    const login = await signIn(h, email);
    const token = await stepUpToken(email);
    await h.client.logout({}, as(login.tokens!.accessToken));
    const error = await failure(
      h.client.stepUp({ proof: { case: "verificationToken", value: token } }, as(login.tokens!.accessToken)),
    );
    expect(error.code).toBe(Code.Unauthenticated);
  });
});
