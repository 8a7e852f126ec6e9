import { generateKeyPairSync } from "node:crypto";
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
    });
  });

  it("leaves the optional listeners, keys and secrets unset by default", () => {
    const config = loadAuthConfig({});
    expect(config.AUTH_GRPC_JS_PORT).toBeUndefined();
    expect(config.JWT_PRIVATE_KEY).toBeUndefined();
    expect(config.OTP_HASH_SECRET).toBeUndefined();
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
  ])("stops at a bad %s=%j, naming the variable", (variable, value) => {
    expect(configErrorOf(() => loadAuthConfig({ [variable]: value }))).toMatch(namesVariable(variable));
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
