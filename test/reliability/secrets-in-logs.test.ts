import { createHash, randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService, IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { UserService } from "../../gen/mintcoin/user/v1/user_pb.js";
import { startAuthService, type AuthServiceHandle } from "../../services/auth/app.js";
import { loadAuthConfig } from "../../services/auth/config.js";
import { createLogger } from "../../services/shared/logging.js";
import { startUserService, type UserServiceHandle } from "../../services/user/app.js";
import { loadUserConfig } from "../../services/user/config.js";
import { createTestDatabase, startNats, waitFor, type NatsInstance, type TestDatabase } from "../support/index.js";
import { readCodesFromNats, type CodeReader } from "./helpers/nats-codes.js";
import { bearer } from "./helpers/sign-in.js";
import { recordSurvival } from "./helpers/survival-log.js";

// Every secret a full run hands out (one-time codes and their challenge ids, verification tokens,
// access and refresh tokens, passwords) and the key-encryption key are searched for in both
// services' logs at LOG_LEVEL=debug. Codes go out through NATS (OTP_DELIVERY=nats), as in
// production, so no log line has a reason to hold one; a control run with OTP_DELIVERY=log shows
// the search does find a code that is logged.

class CapturedLog extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString("utf8");
    done();
  }
}

/** A secret as a whole word: a code inside a longer number or a hex id is not a leak. */
function occursIn(log: string, secret: string): boolean {
  const escaped = secret.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?<![0-9A-Za-z])${escaped}(?![0-9A-Za-z])`).test(log);
}

describe("secrets never appear in the logs", () => {
  let nats: NatsInstance;
  let authDatabase: TestDatabase;
  let userDatabase: TestDatabase;
  let authService: AuthServiceHandle;
  let userService: UserServiceHandle;
  let codes: CodeReader;
  const authLog = new CapturedLog();
  const userLog = new CapturedLog();
  let auth: Client<typeof AuthService>;
  let users: Client<typeof UserService>;
  const keyEncryptionKey = randomBytes(32);

  beforeAll(async () => {
    [nats, authDatabase, userDatabase] = await Promise.all([startNats(), createTestDatabase(), createTestDatabase()]);
    const authConfig = loadAuthConfig({
      AUTH_DATABASE_URL: authDatabase.url,
      NATS_URL: nats.url,
      OTP_DELIVERY: "nats",
      LOG_LEVEL: "debug",
      AUTH_PORT: "0",
      AUTH_METRICS_PORT: "0",
      ADMIN_IDENTIFIERS: "admin@logs.example",
      KEY_ENCRYPTION_KEY: keyEncryptionKey.toString("base64"),
      // The flow asks one address for more codes (login, step-up, reset) than a real person would in 15 minutes.
      OTP_RATE_LIMIT_MAX_REQUESTS: "10",
    });
    authService = await startAuthService(authConfig, createLogger("auth", "debug", authLog));
    const authUrl = `http://127.0.0.1:${authService.port}`;
    const userConfig = loadUserConfig({
      USER_DATABASE_URL: userDatabase.url,
      NATS_URL: nats.url,
      LOG_LEVEL: "debug",
      USER_PORT: "0",
      USER_METRICS_PORT: "0",
      AUTH_JWKS_URL: `${authUrl}/.well-known/jwks.json`,
    });
    userService = await startUserService(userConfig, createLogger("user", "debug", userLog));
    auth = createClient(AuthService, createConnectTransport({ baseUrl: authUrl, httpVersion: "1.1" }));
    users = createClient(
      UserService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${userService.port}`, httpVersion: "1.1" }),
    );
    codes = await readCodesFromNats(nats.url);
  });

  afterAll(async () => {
    await codes?.close();
    await userService?.close();
    await authService?.close();
    await nats?.stop();
    await Promise.allSettled([authDatabase?.drop(), userDatabase?.drop()]);
  });

  it("a full run at LOG_LEVEL=debug logs no code, verification token, access or refresh token, or password", async () => {
    const secrets: string[] = [];
    const keep = <T extends string>(value: T): T => {
      secrets.push(value);
      return value;
    };
    const fail = (call: Promise<unknown>) =>
      call.then(
        () => "ok" as const,
        (error: unknown) => ConnectError.from(error).code,
      );

    const verify = async (identifier: string, identifierType: IdentifierType, purpose: OtpPurpose) => {
      const { challengeId } = await auth.sendOtp({ identifier, identifierType, purpose, deviceId: "log-device" });
      keep(challengeId);
      const code = keep(await codes.codeFor(identifier));
      const wrong = code === "000000" ? "111111" : "000000";
      expect(await fail(auth.verifyOtp({ identifier, identifierType, code: wrong, purpose, challengeId }))).toBe(
        Code.Unauthenticated,
      );
      const { verificationToken } = await auth.verifyOtp({ identifier, identifierType, code, purpose, challengeId });
      return keep(verificationToken);
    };
    const signIn = async (identifier: string, deviceId: string) => {
      const login = await auth.login({
        verificationToken: await verify(identifier, IdentifierType.EMAIL, OtpPurpose.LOGIN),
        deviceId,
        deviceName: "log test",
      });
      keep(login.tokens!.accessToken);
      keep(login.tokens!.refreshToken);
      return login;
    };

    // Sign up, profile, refresh (and a refresh-token reuse), passwords, a linked phone, admin actions, logout.
    const admin = await signIn("admin@logs.example", "admin-device");
    await users.createUser({ username: "log_admin", name: "Admin" }, bearer(admin.tokens!.accessToken));
    const login = await signIn("person@logs.example", "person-device");
    await users.createUser({ username: "log_person", name: "Person" }, bearer(login.tokens!.accessToken));
    await users.updateMe({ name: "Person Two", bio: "bio" }, bearer(login.tokens!.accessToken));
    await users.getMe({}, bearer(login.tokens!.accessToken));
    const refreshed = await auth.refreshToken({ refreshToken: login.tokens!.refreshToken, deviceId: "person-device" });
    const access = keep(refreshed.tokens!.accessToken);
    keep(refreshed.tokens!.refreshToken);
    await auth.validateToken({ accessToken: access });
    await auth.listSessions({}, bearer(access));
    const password = keep("a long secret password 1");
    await auth.setPassword(
      { verificationToken: await verify("person@logs.example", IdentifierType.EMAIL, OtpPurpose.LOGIN), password },
      bearer(access),
    );
    const wrongPassword = keep("a wrong secret password 2");
    expect(
      await fail(
        auth.loginWithPassword({
          identifier: "person@logs.example",
          identifierType: IdentifierType.EMAIL,
          password: wrongPassword,
          deviceId: "pw-device",
          deviceName: "",
        }),
      ),
    ).toBe(Code.Unauthenticated);
    const byPassword = await auth.loginWithPassword({
      identifier: "person@logs.example",
      identifierType: IdentifierType.EMAIL,
      password,
      deviceId: "pw-device",
      deviceName: "",
    });
    keep(byPassword.tokens!.accessToken);
    keep(byPassword.tokens!.refreshToken);
    // A password sign-in on a new device is held: linking needs a step-up first, and a held password
    // session steps up with a code (the password again would prove nothing new).
    const stepUpToken = await verify("person@logs.example", IdentifierType.EMAIL, OtpPurpose.STEP_UP);
    const steppedUp = await auth.stepUp(
      { proof: { case: "verificationToken", value: stepUpToken } },
      bearer(byPassword.tokens!.accessToken),
    );
    keep(steppedUp.accessToken);
    await auth.linkIdentifier(
      { verificationToken: await verify("+447911123456", IdentifierType.PHONE, OtpPurpose.PHONE_VERIFICATION) },
      bearer(steppedUp.accessToken),
    );
    const newPassword = keep("a new secret password 3");
    await auth.resetPassword({
      verificationToken: await verify("person@logs.example", IdentifierType.EMAIL, OtpPurpose.PASSWORD_RESET),
      newPassword,
    });
    // The reset revoked every session: an old refresh token and an old access token are now refused.
    expect(
      await fail(auth.refreshToken({ refreshToken: byPassword.tokens!.refreshToken, deviceId: "pw-device" })),
    ).toBe(Code.Unauthenticated);
    expect(await fail(users.getMe({}, bearer(byPassword.tokens!.accessToken)))).not.toBe("ok");
    const again = await auth.loginWithPassword({
      identifier: "person@logs.example",
      identifierType: IdentifierType.EMAIL,
      password: newPassword,
      deviceId: "pw-device",
      deviceName: "",
    });
    keep(again.tokens!.accessToken);
    keep(again.tokens!.refreshToken);
    await users.suspendUser({ userId: again.userId, reason: "log test" }, bearer(admin.tokens!.accessToken));
    await users.unsuspendUser({ userId: again.userId }, bearer(admin.tokens!.accessToken));
    await auth.logout({}, bearer(admin.tokens!.accessToken));
    expect(await fail(auth.listSessions({}, bearer("not.a.token")))).toBe(Code.Unauthenticated);

    // Let the relays and consumers log whatever they log about this run.
    await waitFor(
      async () =>
        (await authService.runtime.relay()?.drainOnce()) === 0 &&
        (await userService.runtime.relay()?.drainOnce()) === 0,
      {
        timeoutMs: 10_000,
      },
    );
    // Hashes of the opaque tokens too, in the encodings a careless log line would use.
    const opaque = secrets.filter((secret) => !secret.includes(".") && secret.length > 20);
    for (const token of opaque) {
      const digest = createHash("sha256").update(token).digest();
      secrets.push(digest.toString("hex"), digest.toString("base64url"));
    }
    // The key-encryption key the auth service seals its keys under, in the encodings it is written in.
    secrets.push(keyEncryptionKey.toString("base64"), keyEncryptionKey.toString("hex"));
    const jwtSignatures = secrets.filter((secret) => secret.split(".").length === 3).map((jwt) => jwt.split(".")[2]!);

    const logs = { auth: authLog.text, user: userLog.text };
    expect(logs.auth.split("\n").length, "the auth service logged at debug").toBeGreaterThan(30);
    expect(logs.user.split("\n").length, "the user service logged at debug").toBeGreaterThan(10);
    const leaks = [...secrets, ...jwtSignatures].flatMap((secret) =>
      Object.entries(logs)
        .filter(([, text]) => occursIn(text, secret))
        .map(([service]) => `${service} log holds ${secret.slice(0, 12)}...`),
    );
    expect(leaks).toEqual([]);
    recordSurvival({
      fault: "Secrets in logs",
      tried: `a full run at LOG_LEVEL=debug (${logs.auth.split("\n").length + logs.user.split("\n").length} log lines), searched for ${secrets.length + jwtSignatures.length} secrets`,
      times: 1,
      lost: "nothing: no code, token, token hash, password or key-encryption key in any log line",
    });
  }, 60_000);

  it("the search finds a code that is logged (the control: OTP_DELIVERY=log logs codes on purpose)", async () => {
    const log = new CapturedLog();
    const database = await createTestDatabase();
    const service = await startAuthService(
      loadAuthConfig({
        AUTH_DATABASE_URL: database.url,
        OTP_DELIVERY: "log",
        LOG_LEVEL: "debug",
        AUTH_PORT: "0",
        AUTH_METRICS_PORT: "off",
      }),
      createLogger("auth", "debug", log),
    );
    try {
      const client = createClient(
        AuthService,
        createConnectTransport({ baseUrl: `http://127.0.0.1:${service.port}`, httpVersion: "1.1" }),
      );
      await client.sendOtp({
        identifier: "control@logs.example",
        identifierType: IdentifierType.EMAIL,
        purpose: OtpPurpose.LOGIN,
        deviceId: "d",
      });
      const code = /one-time code for control@logs\.example: (\d{6})/.exec(log.text)?.[1];
      expect(code).toMatch(/^\d{6}$/);
      expect(occursIn(log.text, code!)).toBe(true);
    } finally {
      await service.close();
      await database.drop();
    }
  });
});
