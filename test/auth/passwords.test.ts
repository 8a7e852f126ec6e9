import { Code, ConnectError } from "@connectrpc/connect";
import { hash as argon2Hash, argon2id } from "argon2";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { LoginMethod, SessionRevokeReason } from "../../gen/mintcoin/events/v1/auth_events_pb.js";
import { createArgon2Hasher, type PasswordHasher } from "../../services/auth/domain/password-hasher.js";
import { createPasswordLogin } from "../../services/auth/domain/password-login.js";
import { grpc } from "../fixtures/grpc-clients.js";
import { connectAuthClient } from "../fixtures/services.js";
import { waitFor } from "../support/index.js";
import {
  callHeaders,
  signIn,
  startAuthHarness,
  uniqueEmail,
  verificationToken,
  type AuthHarness,
} from "./auth-harness.js";

// SetPassword, LoginWithPassword, ResetPassword: argon2id with OWASP parameters, one answer and one
// amount of work for unknown identifiers, accounts without a password and wrong passwords, exact
// per-identifier and per-IP failure limits, and a reset that revokes every session.

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (!error) throw new Error("expected the call to fail");
  return error;
}
const reasonOf = (error: ConnectError) => error.findDetails(ErrorInfoSchema)[0]?.reason;
const retrySeconds = (error: ConnectError) => Number(error.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds ?? -1n);

let ipCounter = 0;
/** A client IP of its own per call site, so the per-IP limit of one test never touches another's. */
function freshIp(): string {
  ipCounter += 1;
  return `198.18.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
}

const password = "correct horse battery staple";
const owaspPrefix = "$argon2id$v=19$m=19456,p=1,t=2$";

describe("passwords: SetPassword, LoginWithPassword, ResetPassword", () => {
  let h: AuthHarness;
  const as = (accessToken: string) => ({ headers: callHeaders({ accessToken, ip: freshIp() }) });

  beforeAll(async () => {
    h = await startAuthHarness({
      env: { TRUSTED_PROXIES: "127.0.0.1", PASSWORD_IP_MAX_FAILURES: "6", OTP_IP_RATE_LIMIT_MAX_REQUESTS: "1000" },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const db = () => h.auth.handle.runtime.db;
  const storedHash = async (userId: string) =>
    (await db().selectFrom("passwords").select("hash").where("user_id", "=", userId).executeTakeFirst())?.hash;
  const guardOf = (identifier: string) =>
    db().selectFrom("password_guards").selectAll().where("identifier", "=", identifier).executeTakeFirst();

  /** A user (signed in once by code) who then set `password`. */
  async function accountWithPassword(secret = password) {
    const email = uniqueEmail("pw");
    const login = await signIn(h, email, { ip: freshIp() });
    await h.client.setPassword(
      { verificationToken: await verificationToken(h, email), password: secret },
      as(login.tokens!.accessToken),
    );
    return { email, userId: login.userId, login };
  }

  const passwordLogin = (
    identifier: string,
    secret: string,
    options: { ip?: string; deviceId?: string; client?: typeof h.client } = {},
  ) =>
    (options.client ?? h.client).loginWithPassword(
      { identifier, identifierType: IdentifierType.EMAIL, password: secret, deviceId: options.deviceId ?? "pw-device" },
      { headers: callHeaders({ ip: options.ip ?? freshIp() }) },
    );

  describe("SetPassword", () => {
    it("needs a bearer token", async () => {
      const error = await failure(h.client.setPassword({ verificationToken: "mvt_x", password }));
      expect(error.code).toBe(Code.Unauthenticated);
    });

    it("sets a password with a fresh code for one of the caller's identifiers, keeps the sessions, and stores only an OWASP argon2id hash", async () => {
      const { email, userId, login } = await accountWithPassword();
      const hash = await storedHash(userId);
      expect(hash!.startsWith(owaspPrefix)).toBe(true);
      expect(hash).not.toContain(password);
      await expect(h.client.listSessions({}, as(login.tokens!.accessToken))).resolves.toMatchObject({
        sessions: [{ id: login.sessionId }],
      });
      await expect(passwordLogin(email, password)).resolves.toMatchObject({ userId, newUser: false });
    });

    it("accepts an email-verification code and replaces an earlier password", async () => {
      const { email, login } = await accountWithPassword();
      const token = await verificationToken(h, email, OtpPurpose.EMAIL_VERIFICATION);
      await h.client.setPassword(
        { verificationToken: token, password: "a brand new password" },
        as(login.tokens!.accessToken),
      );
      expect((await failure(passwordLogin(email, password))).code).toBe(Code.Unauthenticated);
      await expect(passwordLogin(email, "a brand new password")).resolves.toMatchObject({ userId: login.userId });
    });

    it("refuses with PERMISSION_DENIED a used, garbled, expired, password-reset or someone else's token, leaving the others usable", async () => {
      const email = uniqueEmail("pw");
      const me = await signIn(h, email, { ip: freshIp() });
      const mine = await verificationToken(h, email);
      await h.client.setPassword({ verificationToken: mine, password }, as(me.tokens!.accessToken));

      const otherEmail = uniqueEmail("pw");
      await signIn(h, otherEmail);
      const theirs = await verificationToken(h, otherEmail);
      const reset = await verificationToken(h, otherEmail, OtpPurpose.PASSWORD_RESET);
      for (const token of [mine, "mvt_garbled", theirs, reset]) {
        const error = await failure(
          h.client.setPassword({ verificationToken: token, password }, as(me.tokens!.accessToken)),
        );
        expect(error.code).toBe(Code.PermissionDenied);
        expect(reasonOf(error)).toBe("VERIFICATION_TOKEN_INVALID");
      }
      // The other person's tokens were not used up by the refused calls.
      await expect(h.client.login({ verificationToken: theirs, deviceId: "d" })).resolves.toMatchObject({
        newUser: false,
      });

      h.clock.advance(15 * 60_000);
      const late = await verificationToken(h, email);
      h.clock.advance(5 * 60_000 + 1);
      // Twenty minutes on, the access token has expired too: a fresh one, so only the code's age counts.
      const renewed = await h.client.refreshToken({ refreshToken: me.tokens!.refreshToken, deviceId: "device-1" });
      expect(
        (await failure(h.client.setPassword({ verificationToken: late, password }, as(renewed.tokens!.accessToken))))
          .code,
      ).toBe(Code.PermissionDenied);
    });

    it("refuses a password shorter than 10 characters with INVALID_ARGUMENT naming the field", async () => {
      const email = uniqueEmail("pw");
      const me = await signIn(h, email);
      const error = await failure(
        h.client.setPassword(
          { verificationToken: await verificationToken(h, email), password: "short" },
          as(me.tokens!.accessToken),
        ),
      );
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toContain("password");
    });
  });

  describe("LoginWithPassword", () => {
    it("signs in like Login does: a session, a token pair that verifies with the JWKS, the device, and auth.login with method PASSWORD", async () => {
      const { email, userId } = await accountWithPassword();
      const ip = freshIp();
      const response = await h.client.loginWithPassword(
        {
          identifier: `  ${email.toUpperCase()} `,
          identifierType: IdentifierType.EMAIL,
          password,
          deviceId: "pw-laptop",
          deviceName: "Laptop",
        },
        {
          headers: callHeaders({
            ip,
            userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
          }),
        },
      );
      expect(response).toMatchObject({ userId, newUser: false, tokens: { tokenType: "Bearer", expiresIn: 900n } });
      const jwks = createRemoteJWKSet(new URL(`${h.auth.baseUrl}/.well-known/jwks.json`));
      const { payload } = await jwtVerify(response.tokens!.accessToken, jwks, {
        issuer: "mintcoin-auth",
        audience: "mintcoin",
      });
      expect(payload).toMatchObject({
        sub: userId,
        sid: response.sessionId,
        did: "pw-laptop",
        email,
        email_verified: true,
      });

      const login = await waitFor(() => h.events.decoded("auth.login").find((e) => e.sessionId === response.sessionId));
      expect(login).toMatchObject({
        method: LoginMethod.PASSWORD,
        identifier: email,
        newUser: false,
        newDevice: true,
        deviceName: "Laptop",
        ipAddress: ip,
      });
      const device = await waitFor(() =>
        h.events.decoded("auth.device.registered").find((e) => e.userId === userId && e.deviceId === "pw-laptop"),
      );
      expect(device).toMatchObject({ osName: "Linux", browserName: "Firefox" });
      await waitFor(() => h.events.decoded("auth.session.created").some((e) => e.sessionId === response.sessionId));

      const grpcAnswer = await h.grpc.LoginWithPassword({
        identifier: email,
        identifier_type: "IDENTIFIER_TYPE_EMAIL",
        password,
        device_id: "pw-cli",
      });
      expect(grpcAnswer).toMatchObject({ user_id: userId, new_user: false, tokens: { token_type: "Bearer" } });
    });

    it("gives one answer for an unknown identifier, an account without a password and a wrong password", async () => {
      const { email } = await accountWithPassword();
      const noPassword = uniqueEmail("nopw");
      await signIn(h, noPassword);
      const answers = await Promise.all([
        failure(passwordLogin(uniqueEmail("nobody"), password)),
        failure(passwordLogin(noPassword, password)),
        failure(passwordLogin(email, "not the password at all")),
      ]);
      for (const error of answers) {
        expect(error.code).toBe(Code.Unauthenticated);
        expect(error.rawMessage).toBe(answers[0]!.rawMessage);
        expect(reasonOf(error)).toBe("CREDENTIALS_INVALID");
        expect(error.details.length).toBe(answers[0]!.details.length);
      }
      const grpcError = await h.grpc
        .LoginWithPassword({
          identifier: uniqueEmail("nobody"),
          identifier_type: "IDENTIFIER_TYPE_EMAIL",
          password,
          device_id: "d",
        })
        .catch((e: grpc.ServiceError) => e);
      expect((grpcError as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
    });

    it("does the same work for every failure: one argon2id check against a hash with today's parameters", async () => {
      const { email } = await accountWithPassword();
      const noPassword = uniqueEmail("nopw");
      await signIn(h, noPassword);
      const real = await createArgon2Hasher();
      const checked: string[] = [];
      const spy: PasswordHasher = {
        ...real,
        verify: (hash, secret) => {
          checked.push(hash);
          return real.verify(hash, secret);
        },
      };
      const service = createPasswordLogin({
        transact: h.auth.handle.runtime.transact,
        clock: h.clock,
        hasher: spy,
        sessions: h.auth.handle.domain.sessions,
        lockout: { threshold: 5, baseDelayMs: 60_000, maxDelayMs: 3_600_000, forgetAfterMs: 86_400_000 },
        ipLimit: { windowMs: 900_000, maxFailures: 50 },
      });
      const attempt = (identifier: string, secret: string) =>
        failure(
          service.login({
            identifierType: "email",
            identifier,
            password: secret,
            deviceId: "d",
            deviceName: "",
            ip: freshIp(),
            userAgent: "",
          }),
        );
      const errors = [
        await attempt(uniqueEmail("nobody"), password),
        await attempt(noPassword, password),
        await attempt(email, "wrong password!"),
      ];
      expect(checked).toHaveLength(3);
      for (const hash of checked) expect(hash.startsWith(owaspPrefix)).toBe(true);
      expect(new Set(errors.map((e) => `${e.code}|${e.rawMessage}`)).size).toBe(1);
    });

    it("counts 20 concurrent wrong passwords exactly: 5 are checked, 15 are refused with RESOURCE_EXHAUSTED, the guard holds 5", async () => {
      const { email } = await accountWithPassword();
      const ip = freshIp();
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => passwordLogin(email, "wrong password!", { ip })),
      );
      const codes = results.map((r) => (r.status === "rejected" ? ConnectError.from(r.reason).code : Code.Unknown));
      expect(codes.filter((c) => c === Code.Unauthenticated)).toHaveLength(5);
      expect(codes.filter((c) => c === Code.ResourceExhausted)).toHaveLength(15);
      expect(await guardOf(email)).toMatchObject({ failures: 5 });
      const locked = await failure(passwordLogin(email, password, { ip: freshIp() }));
      expect(locked.code).toBe(Code.ResourceExhausted);
      expect(reasonOf(locked)).toBe("PASSWORD_LOCKED");
    });

    it("holds the limit exactly across two service instances on one database", async () => {
      const { email } = await accountWithPassword();
      const other = connectAuthClient((await h.startAnother()).baseUrl);
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          passwordLogin(email, "wrong password!", { client: i % 2 === 0 ? h.client : other }),
        ),
      );
      const refusedAsWrong = results.filter(
        (r) => r.status === "rejected" && ConnectError.from(r.reason).code === Code.Unauthenticated,
      );
      expect(refusedAsWrong).toHaveLength(5);
      expect(await guardOf(email)).toMatchObject({ failures: 5 });
    });

    it("locks an identifier for a doubling delay from the 5th wrong password, and a right one afterwards signs in, flagged, and resets the count", async () => {
      const { email } = await accountWithPassword();
      for (let i = 0; i < 4; i++)
        expect((await failure(passwordLogin(email, `wrong password ${i}`))).code).toBe(Code.Unauthenticated);
      expect((await failure(passwordLogin(email, "wrong password 4"))).code).toBe(Code.Unauthenticated);
      let locked = await failure(passwordLogin(email, password));
      expect(locked.code).toBe(Code.ResourceExhausted);
      expect(retrySeconds(locked)).toBe(60);

      h.clock.advance(60_000);
      expect((await failure(passwordLogin(email, "wrong password 5"))).code).toBe(Code.Unauthenticated);
      locked = await failure(passwordLogin(email, password));
      expect(retrySeconds(locked)).toBe(120);

      h.clock.advance(120_000);
      const response = await passwordLogin(email, password);
      expect(await guardOf(email)).toMatchObject({ failures: 0, locked_until: null });
      const login = await waitFor(() => h.events.decoded("auth.login").find((e) => e.sessionId === response.sessionId));
      expect(login!.suspiciousReasons).toContain("recent_failures");
    });

    it("locks an unknown identifier exactly like a known one, so the lockout reveals nothing", async () => {
      const nobody = uniqueEmail("nobody");
      for (let i = 0; i < 5; i++)
        expect((await failure(passwordLogin(nobody, password))).code).toBe(Code.Unauthenticated);
      const locked = await failure(passwordLogin(nobody, password));
      expect(locked.code).toBe(Code.ResourceExhausted);
      expect(retrySeconds(locked)).toBe(60);
    });

    it("limits wrong passwords per client IP across identifiers, and gives a right password's slot back", async () => {
      const ip = freshIp();
      const { email } = await accountWithPassword();
      for (let i = 0; i < 8; i++) await expect(passwordLogin(email, password, { ip })).resolves.toBeDefined();
      for (let i = 0; i < 6; i++)
        expect((await failure(passwordLogin(uniqueEmail("spray"), password, { ip }))).code).toBe(Code.Unauthenticated);
      const limited = await failure(passwordLogin(email, password, { ip }));
      expect(limited.code).toBe(Code.ResourceExhausted);
      expect(reasonOf(limited)).toBe("PASSWORD_IP_LIMITED");
      expect(retrySeconds(limited)).toBeGreaterThan(0);
      await expect(passwordLogin(email, password, { ip: freshIp() })).resolves.toBeDefined();
    });

    it("refuses a right password from a blocked device or for a suspended user with PERMISSION_DENIED (a wrong one stays UNAUTHENTICATED), and counts it as right", async () => {
      const { email, userId, login } = await accountWithPassword();
      await signIn(h, email, { deviceId: "stolen" });
      await h.client.blockDevice({ deviceId: "stolen" }, as(login.tokens!.accessToken));
      expect((await failure(passwordLogin(email, "wrong password!", { deviceId: "stolen" }))).code).toBe(
        Code.Unauthenticated,
      );
      expect(await guardOf(email)).toMatchObject({ failures: 1 });
      let error = await failure(passwordLogin(email, password, { deviceId: "stolen" }));
      expect(error.code).toBe(Code.PermissionDenied);
      expect(reasonOf(error)).toBe("DEVICE_BLOCKED");
      expect(await guardOf(email)).toMatchObject({ failures: 0 });

      await db()
        .insertInto("user_restrictions")
        .values({ user_id: userId, suspended: true, suspended_until: null, updated_at: h.clock.now(), event_at: null })
        .execute();
      expect((await failure(passwordLogin(email, "wrong password!"))).code).toBe(Code.Unauthenticated);
      error = await failure(passwordLogin(email, password));
      expect(error.code).toBe(Code.PermissionDenied);
      expect(reasonOf(error)).toBe("USER_SUSPENDED");
      expect(await guardOf(email)).toMatchObject({ failures: 0 });
    });

    it("treats composed and decomposed accents as the same password (NFKC)", async () => {
      const { email } = await accountWithPassword("caf\u00e9 au lait, s'il vous pla\u00eet");
      await expect(passwordLogin(email, "cafe\u0301 au lait, s'il vous plai\u0302t")).resolves.toBeDefined();
    });

    it("re-hashes a password stored with older parameters at the next sign-in", async () => {
      const { email, userId } = await accountWithPassword();
      const weak = await argon2Hash(password, { type: argon2id, memoryCost: 8_192, timeCost: 1, parallelism: 1 });
      await db().updateTable("passwords").set({ hash: weak }).where("user_id", "=", userId).execute();
      await passwordLogin(email, password);
      const upgraded = await storedHash(userId);
      expect(upgraded!.startsWith(owaspPrefix)).toBe(true);
      await expect(passwordLogin(email, password)).resolves.toBeDefined();
    });
  });

  describe("ResetPassword", () => {
    it("sets the new password with a PASSWORD_RESET code and revokes every session of the user (password_reset)", async () => {
      const { email, userId, login } = await accountWithPassword();
      const second = await passwordLogin(email, password, { deviceId: "second" });
      const ip = freshIp();
      await h.client.resetPassword(
        {
          verificationToken: await verificationToken(h, email, OtpPurpose.PASSWORD_RESET),
          newPassword: "the new secret 42",
        },
        { headers: callHeaders({ ip }) },
      );
      const active = await db()
        .selectFrom("sessions")
        .select("id")
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .execute();
      expect(active).toEqual([]);
      const revoked = await waitFor(() => {
        const events = h.events.decoded("auth.session.revoked").filter((e) => e.userId === userId);
        return events.length === 2 ? events : undefined;
      });
      for (const event of revoked!)
        expect(event).toMatchObject({
          reason: "password_reset",
          reasonCode: SessionRevokeReason.PASSWORD_RESET,
          ipAddress: ip,
        });

      expect((await failure(h.client.listSessions({}, as(login.tokens!.accessToken)))).code).toBe(Code.Unauthenticated);
      expect(
        (await failure(h.client.refreshToken({ refreshToken: second.tokens!.refreshToken, deviceId: "second" }))).code,
      ).toBe(Code.Unauthenticated);
      expect((await failure(passwordLogin(email, password))).code).toBe(Code.Unauthenticated);
      await expect(passwordLogin(email, "the new secret 42")).resolves.toMatchObject({ userId });
    });

    it("sets a first password for an account that had none", async () => {
      const email = uniqueEmail("pw");
      const { userId } = await signIn(h, email);
      await h.client.resetPassword({
        verificationToken: await verificationToken(h, email, OtpPurpose.PASSWORD_RESET),
        newPassword: "first password ever",
      });
      await expect(passwordLogin(email, "first password ever")).resolves.toMatchObject({ userId });
    });

    it("refuses garbled, used, expired and login-purpose tokens with UNAUTHENTICATED, and an identifier without an account with NOT_FOUND", async () => {
      const { email } = await accountWithPassword();
      const used = await verificationToken(h, email, OtpPurpose.PASSWORD_RESET);
      await h.client.resetPassword({ verificationToken: used, newPassword: "another password" });
      h.clock.advance(15 * 60_000);
      const loginToken = await verificationToken(h, email);
      const expired = await verificationToken(h, email, OtpPurpose.PASSWORD_RESET);
      for (const token of ["mvt_garbled", used, loginToken]) {
        const error = await failure(
          h.client.resetPassword({ verificationToken: token, newPassword: "another password" }),
        );
        expect(error.code).toBe(Code.Unauthenticated);
      }
      h.clock.advance(5 * 60_000 + 1);
      expect(
        (await failure(h.client.resetPassword({ verificationToken: expired, newPassword: "another password" }))).code,
      ).toBe(Code.Unauthenticated);

      const stranger = await verificationToken(h, uniqueEmail("nobody"), OtpPurpose.PASSWORD_RESET);
      const error = await failure(
        h.client.resetPassword({ verificationToken: stranger, newPassword: "another password" }),
      );
      expect(error.code).toBe(Code.NotFound);
    });

    it("leaves no live session from the old password when password sign-ins race the reset", async () => {
      const { email, userId } = await accountWithPassword();
      await db()
        .updateTable("sessions")
        .set({ revoked_at: h.clock.now(), revoke_reason: "test" })
        .where("user_id", "=", userId)
        .execute();
      const token = await verificationToken(h, email, OtpPurpose.PASSWORD_RESET);
      const [reset, ...logins] = await Promise.allSettled([
        h.client.resetPassword({ verificationToken: token, newPassword: "after the race" }),
        // Fewer than the lockout threshold: in-flight attempts count until they turn out right.
        ...Array.from({ length: 4 }, (_, i) => passwordLogin(email, password, { deviceId: `racer-${i}` })),
      ]);
      expect(reset.status).toBe("fulfilled");
      for (const login of logins)
        if (login.status === "rejected") expect(ConnectError.from(login.reason).code).toBe(Code.Unauthenticated);
      const active = await db()
        .selectFrom("sessions")
        .select("id")
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .execute();
      expect(active).toEqual([]);
    });
  });
});
