import { describe, expect, it } from "vitest";
import { loadAuthConfig } from "../../services/auth/config.js";
import { ConfigError, withoutValue } from "../../services/shared/config/env.js";
import { loadUserConfig } from "../../services/user/config.js";

// A bad setting stops the service with a message that names the variable and says what was
// expected, and never repeats the value: a secret pasted into the wrong variable, or a database
// URL with its password, must not end up in the logs that collect the process's error output.

const configErrorOf = (load: () => unknown): ConfigError => {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
};

describe("configuration errors", () => {
  it("name each offending variable and never echo a secret's value", () => {
    const secrets = {
      JWT_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----\nTOP-SECRET-KEY-MATERIAL\n-----END PRIVATE KEY-----",
      OTP_HASH_SECRET: "short-hmac-secret",
      AUTH_DATABASE_URL: "postgres//mintcoin:db-password-123@db.internal/auth",
      NATS_URL: "nats//svc:nats-password-456@nats.internal",
    };
    const error = configErrorOf(() => loadAuthConfig(secrets));
    for (const [name, value] of Object.entries(secrets)) {
      expect(error.message).toContain(`${name}:`);
      expect(error.message).not.toContain(value);
    }
    for (const part of ["TOP-SECRET", "short-hmac", "db-password", "nats-password"]) {
      expect(error.message).not.toContain(part);
    }
    expect(error.message).toContain("use at least 32 characters");
  });

  it("leave out every value, not only those of known secrets, and still say what was expected", () => {
    const error = configErrorOf(() =>
      loadUserConfig({
        USER_PORT: "p4ssw0rd-in-the-wrong-place",
        LOG_LEVEL: "loud-and-clear",
        AUTH_JWKS_URL: "nope",
        USER_DATABASE_URL: "postgres//svc:user-db-password@db/user",
      }),
    );
    expect(error.message).toMatch(/USER_PORT: .*expected number/);
    expect(error.message).toMatch(/LOG_LEVEL: .*expected one of/);
    expect(error.message).toMatch(/AUTH_JWKS_URL: Invalid URL/);
    expect(error.message).toMatch(/USER_DATABASE_URL: Invalid URL/);
    for (const value of ["p4ssw0rd", "loud-and-clear", "nope", "user-db-password"]) {
      expect(error.message).not.toContain(value);
    }
  });

  it("name a bad administrator entry by its position, not its value", () => {
    const error = configErrorOf(() => loadAuthConfig({ ADMIN_IDENTIFIERS: "ops@example.com,not-a-person" }));
    expect(error.message).toContain("ADMIN_IDENTIFIERS: entry 2");
    expect(error.message).not.toContain("not-a-person");
  });

  it("take a value out of a message that quotes it", () => {
    expect(withoutValue('expected "x" but got "sk_live_123"', "sk_live_123")).toBe('expected "x" but got "<value>"');
    expect(withoutValue("Invalid URL", undefined)).toBe("Invalid URL");
  });
});
