import { generateKeyPairSync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadAuthConfig } from "../../../services/auth/config.js";
import { configErrorOf, namesVariable } from "../support/config-error.js";

// The auth service's settings (README, Configuration): what it runs with when nothing is set, and
// a start-up error naming the variable for a bad value.

const minute = 60_000;

describe("auth service configuration", () => {
  it("runs with the documented defaults when nothing is set", () => {
    expect(loadAuthConfig({})).toMatchObject({
      AUTH_PORT: 50051,
      AUTH_METRICS_PORT: 9464,
      JWT_ACCESS_EXPIRATION: 15 * minute,
      JWT_REFRESH_EXPIRATION: 7 * 24 * 60 * minute,
      REFRESH_TOKEN_REUSE_GRACE: 10_000,
      JWT_KEY_REFRESH_INTERVAL: 30_000,
      OTP_EXPIRATION_MINUTES: 5,
      OTP_MAX_ATTEMPTS: 3,
      OTP_RATE_LIMIT_WINDOW_MINUTES: 15,
      OTP_RATE_LIMIT_MAX_REQUESTS: 3,
      OTP_IP_RATE_LIMIT_MAX_REQUESTS: 30,
      OTP_LOCKOUT_THRESHOLD: 100,
      OTP_LOCKOUT_BASE: minute,
      OTP_LOCKOUT_MAX: 60 * minute,
      VERIFICATION_TOKEN_EXPIRATION: 5 * minute,
      PASSWORD_LOCKOUT_THRESHOLD: 5,
      PASSWORD_IP_MAX_FAILURES: 50,
      PASSWORD_IP_WINDOW: 15 * minute,
      SESSION_RETENTION: 30 * 24 * 60 * minute,
      JWT_KEY_ROTATION_INTERVAL: 30 * 24 * 60 * minute,
      JWT_KEY_ACTIVATION_DELAY: 10 * minute,
      SERVICE_TOKEN_EXPIRATION: 5 * minute,
      CLIENT_AUTH_LOCKOUT_THRESHOLD: 5,
      CLIENT_AUTH_LOCKOUT_BASE: minute,
      CLIENT_AUTH_LOCKOUT_MAX: 60 * minute,
      CLIENT_AUTH_IP_MAX_FAILURES: 50,
      CLIENT_AUTH_IP_WINDOW: 15 * minute,
    });
  });

  it("leaves the optional listeners, keys and secrets unset by default", () => {
    const config = loadAuthConfig({});
    expect(config.AUTH_GRPC_JS_PORT).toBeUndefined();
    expect(config.JWT_PRIVATE_KEY).toBeUndefined();
    expect(config.OTP_HASH_SECRET).toBeUndefined();
    expect(config.keyEncryptionKeys).toEqual({ current: undefined, previous: undefined });
    expect(config.DEFAULT_PHONE_REGION).toBeUndefined();
    expect(config.databaseUrl).toBeUndefined();
    expect(config.adminIdentifiers.size).toBe(0);
  });

  it("writes codes to the log on a developer's machine (no NATS, no database) and sends them over NATS when it is set", () => {
    expect(loadAuthConfig({}).otpDelivery).toBe("log");
    expect(loadAuthConfig({ NATS_URL: "nats://127.0.0.1:4222" }).otpDelivery).toBe("nats");
    expect(loadAuthConfig({ NATS_URL: "nats://127.0.0.1:4222", OTP_DELIVERY: "log" }).otpDelivery).toBe("log");
  });

  it("turns the metrics endpoint off with AUTH_METRICS_PORT=off", () => {
    expect(loadAuthConfig({ AUTH_METRICS_PORT: "off" }).AUTH_METRICS_PORT).toBeUndefined();
    expect(loadAuthConfig({ AUTH_METRICS_PORT: "0" }).AUTH_METRICS_PORT).toBe(0);
  });

  it("takes its own database URL, or builds one for mintcoin_auth from DATABASE_*", () => {
    expect(loadAuthConfig({ AUTH_DATABASE_URL: "postgres://a@db/auth" }).databaseUrl).toBe("postgres://a@db/auth");
    expect(loadAuthConfig({ DATABASE_HOST: "db" }).databaseUrl).toBe("postgres://db:5432/mintcoin_auth");
  });

  it("reads the default phone region in any case", () => {
    expect(loadAuthConfig({ DEFAULT_PHONE_REGION: "gb" }).DEFAULT_PHONE_REGION).toBe("GB");
  });

  it("normalises admin identifiers the way sign-ins are, so spelling cannot miss the admin role", () => {
    const config = loadAuthConfig({
      ADMIN_IDENTIFIERS: "Root@Example.com, +44 7911 123456, 07911 123457",
      DEFAULT_PHONE_REGION: "GB",
    });
    expect([...config.adminIdentifiers]).toEqual(["root@example.com", "+447911123456", "+447911123457"]);
  });

  it("reads a PKCS#8 signing key from JWT_PRIVATE_KEY", () => {
    const { privateKey } = generateKeyPairSync("ed25519");
    const pem = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    expect(loadAuthConfig({ JWT_PRIVATE_KEY: pem }).JWT_PRIVATE_KEY).toBe(pem);
  });

  it("turns scheduled key rotation off with JWT_KEY_ROTATION_INTERVAL=off", () => {
    expect(loadAuthConfig({ JWT_KEY_ROTATION_INTERVAL: "off" }).JWT_KEY_ROTATION_INTERVAL).toBeUndefined();
    expect(loadAuthConfig({ JWT_KEY_ROTATION_INTERVAL: "7d" }).JWT_KEY_ROTATION_INTERVAL).toBe(7 * 24 * 60 * minute);
  });

  it("stops at a key activation delay shorter than the key refresh interval plus the JWKS cache time", () => {
    expect(loadAuthConfig({ JWT_KEY_ACTIVATION_DELAY: "330s" }).JWT_KEY_ACTIVATION_DELAY).toBe(330_000);
    expect(configErrorOf(() => loadAuthConfig({ JWT_KEY_ACTIVATION_DELAY: "329s" }))).toMatch(
      namesVariable("JWT_KEY_ACTIVATION_DELAY"),
    );
    expect(
      configErrorOf(() => loadAuthConfig({ JWT_KEY_REFRESH_INTERVAL: "10m", JWT_KEY_ACTIVATION_DELAY: "10m" })),
    ).toMatch(namesVariable("JWT_KEY_ACTIVATION_DELAY"));
  });

  it("stops at a rotation interval no longer than the activation delay", () => {
    expect(configErrorOf(() => loadAuthConfig({ JWT_KEY_ROTATION_INTERVAL: "10m" }))).toMatch(
      namesVariable("JWT_KEY_ROTATION_INTERVAL"),
    );
  });

  it("reads KEY_ENCRYPTION_KEY as hex or base64, and stops at any other value without repeating it", () => {
    const kek = randomBytes(32);
    const fromHex = loadAuthConfig({ KEY_ENCRYPTION_KEY: kek.toString("hex") }).keyEncryptionKeys;
    const fromBase64 = loadAuthConfig({ KEY_ENCRYPTION_KEY: kek.toString("base64") }).keyEncryptionKeys;
    expect(fromHex.current?.id).toMatch(/^[0-9a-f]{16}$/);
    expect(fromBase64.current?.id).toBe(fromHex.current?.id);
    for (const variable of ["KEY_ENCRYPTION_KEY", "KEY_ENCRYPTION_KEY_PREVIOUS"]) {
      const value = "my-secret-passphrase-0123456789";
      const message = configErrorOf(() =>
        loadAuthConfig({ KEY_ENCRYPTION_KEY: kek.toString("hex"), [variable]: value }),
      );
      expect(message).toMatch(namesVariable(variable));
      expect(message).not.toContain(value);
      expect(message).not.toContain(kek.toString("hex"));
    }
  });

  it("takes KEY_ENCRYPTION_KEY_PREVIOUS only together with a new KEY_ENCRYPTION_KEY", () => {
    const [current, previous] = [randomBytes(32).toString("hex"), randomBytes(32).toString("hex")];
    const keys = loadAuthConfig({
      KEY_ENCRYPTION_KEY: current,
      KEY_ENCRYPTION_KEY_PREVIOUS: previous,
    }).keyEncryptionKeys;
    expect(keys.previous?.id).toMatch(/^[0-9a-f]{16}$/);
    expect(keys.previous?.id).not.toBe(keys.current?.id);
    expect(configErrorOf(() => loadAuthConfig({ KEY_ENCRYPTION_KEY_PREVIOUS: previous }))).toMatch(
      namesVariable("KEY_ENCRYPTION_KEY_PREVIOUS"),
    );
  });

  it("refuses NODE_ENV=production without KEY_ENCRYPTION_KEY while keys would be generated and kept in the database", () => {
    const pem = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const otpSecret = "an OTP hash secret of at least 32 characters";
    for (const env of [{}, { JWT_PRIVATE_KEY: pem }, { OTP_HASH_SECRET: otpSecret }]) {
      expect(configErrorOf(() => loadAuthConfig({ NODE_ENV: "production", ...env }))).toMatch(
        namesVariable("KEY_ENCRYPTION_KEY"),
      );
      expect(() => loadAuthConfig(env)).not.toThrow();
    }
    expect(() =>
      loadAuthConfig({ NODE_ENV: "production", KEY_ENCRYPTION_KEY: randomBytes(32).toString("base64") }),
    ).not.toThrow();
    expect(() =>
      loadAuthConfig({ NODE_ENV: "production", JWT_PRIVATE_KEY: pem, OTP_HASH_SECRET: otpSecret }),
    ).not.toThrow();
  });

  it.each([
    ["AUTH_PORT", "70000"],
    ["AUTH_GRPC_JS_PORT", "grpc"],
    ["AUTH_METRICS_PORT", "sometimes"],
    ["AUTH_DATABASE_URL", "not a url"],
    ["JWT_ACCESS_EXPIRATION", "15"],
    ["JWT_PRIVATE_KEY", "not a key"],
    ["OTP_MAX_ATTEMPTS", "0"],
    ["OTP_DELIVERY", "sms"],
    ["OTP_HASH_SECRET", "too short"],
    ["DEFAULT_PHONE_REGION", "GBR"],
    ["OTP_LOCKOUT_BASE", "a minute"],
    ["CLEANUP_BATCH_SIZE", "-5"],
    ["JWT_KEY_ROTATION_INTERVAL", "monthly"],
    ["KEY_ENCRYPTION_KEY", "too short"],
    ["SERVICE_TOKEN_EXPIRATION", "5"],
    ["CLIENT_AUTH_IP_WINDOW", "a while"],
  ])("stops at a bad %s=%j, naming the variable", (variable, value) => {
    expect(configErrorOf(() => loadAuthConfig({ [variable]: value }))).toMatch(namesVariable(variable));
  });

  it("stops at service tokens that would outlive JWT_ACCESS_EXPIRATION (a rotated-out key is published only that long)", () => {
    expect(configErrorOf(() => loadAuthConfig({ SERVICE_TOKEN_EXPIRATION: "20m" }))).toMatch(
      namesVariable("SERVICE_TOKEN_EXPIRATION"),
    );
    expect(
      loadAuthConfig({ SERVICE_TOKEN_EXPIRATION: "20m", JWT_ACCESS_EXPIRATION: "20m" }).SERVICE_TOKEN_EXPIRATION,
    ).toBe(20 * minute);
  });

  it("stops at an admin identifier that is neither an email address nor a phone number", () => {
    expect(configErrorOf(() => loadAuthConfig({ ADMIN_IDENTIFIERS: "root@example.com,nobody" }))).toMatch(
      namesVariable("ADMIN_IDENTIFIERS"),
    );
  });

  it("stops at an admin phone number without + when no default region says where it is", () => {
    expect(configErrorOf(() => loadAuthConfig({ ADMIN_IDENTIFIERS: "07911 123456" }))).toMatch(
      namesVariable("ADMIN_IDENTIFIERS"),
    );
  });
});
