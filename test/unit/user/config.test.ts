import { describe, expect, it } from "vitest";
import { loadUserConfig } from "../../../services/user/config.js";
import { configErrorOf, namesVariable } from "../support/config-error.js";

// The user service's settings (README, Configuration): defaults, and a start-up error naming the
// variable for a bad value.

describe("user service configuration", () => {
  it("runs with the documented defaults when nothing is set", () => {
    const config = loadUserConfig({});
    expect(config).toMatchObject({
      USER_PORT: 50052,
      USER_METRICS_PORT: 9465,
      AUTH_JWKS_URL: "http://127.0.0.1:50051/.well-known/jwks.json",
      AUTH_JWKS_COOLDOWN: 30_000,
      JWT_ACCESS_EXPIRATION: 900_000,
      RESERVED_USERNAMES: [],
      PROFILE_CACHE_SIZE: 10_000,
      PROFILE_CACHE_TTL: 60_000,
    });
    expect(config.USER_GRPC_JS_PORT).toBeUndefined();
    expect(config.databaseUrl).toBeUndefined();
  });

  it("turns the profile cache off with PROFILE_CACHE_SIZE=0", () => {
    expect(loadUserConfig({ PROFILE_CACHE_SIZE: "0" }).PROFILE_CACHE_SIZE).toBe(0);
  });

  it("reads extra reserved usernames as a list", () => {
    expect(loadUserConfig({ RESERVED_USERNAMES: "mintbank, Mint.Pay" }).RESERVED_USERNAMES).toEqual([
      "mintbank",
      "Mint.Pay",
    ]);
  });

  it("takes its own database URL, or builds one for mintcoin_user from DATABASE_*", () => {
    expect(loadUserConfig({ USER_DATABASE_URL: "postgres://u@db/user" }).databaseUrl).toBe("postgres://u@db/user");
    expect(loadUserConfig({ DATABASE_HOST: "db" }).databaseUrl).toBe("postgres://db:5432/mintcoin_user");
  });

  it.each([
    ["USER_PORT", "port"],
    ["USER_GRPC_JS_PORT", "-1"],
    ["USER_METRICS_PORT", "on"],
    ["AUTH_JWKS_URL", "jwks.json"],
    ["AUTH_JWKS_COOLDOWN", "soon"],
    ["PROFILE_CACHE_SIZE", "-1"],
    ["PROFILE_CACHE_TTL", "60"],
    ["DEFAULT_PHONE_REGION", "G"],
  ])("stops at a bad %s=%j, naming the variable", (variable, value) => {
    expect(configErrorOf(() => loadUserConfig({ [variable]: value }))).toMatch(namesVariable(variable));
  });
});
