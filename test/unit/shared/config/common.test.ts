import { describe, expect, it } from "vitest";
import { commonEnv, databaseUrlFor } from "../../../../services/shared/config/common.js";
import { parseEnv } from "../../../../services/shared/config/env.js";
import { configErrorOf, namesVariable } from "../../support/config-error.js";

// The settings both services read, and which database a service uses.

const common = (env: Record<string, string> = {}) => parseEnv(commonEnv, env);

describe("common settings", () => {
  it("has defaults that need nothing running: loopback, no NATS, embedded data under ./data", () => {
    const settings = common();
    expect(settings.NATS_URL).toBeUndefined();
    expect(settings).toMatchObject({
      HOST: "127.0.0.1",
      NATS_STREAM_REPLICAS: 1,
      CORS_ORIGINS: [],
      TRUSTED_PROXIES: [],
      MIGRATE_ON_START: true,
      LOG_LEVEL: "info",
      DATA_DIR: "./data",
      DATABASE_POOL_SIZE: 10,
      SHUTDOWN_GRACE_PERIOD: 10_000,
      MAX_REQUEST_BYTES: 65_536,
      JWT_ISSUER: "mintcoin-auth",
      JWT_AUDIENCE: "mintcoin",
    });
  });

  it.each([
    ["LOG_LEVEL", "verbose"],
    ["NATS_STREAM_REPLICAS", "7"],
    ["MIGRATE_ON_START", "sometimes"],
    ["NATS_URL", "not a url"],
    ["HOST", ""],
  ])("refuses %s=%j, naming the variable", (variable, value) => {
    expect(configErrorOf(() => common({ [variable]: value }))).toMatch(namesVariable(variable));
  });

  it("takes NATS_URL as one server or a cluster's servers, comma-separated", () => {
    expect(common({ NATS_URL: "nats://127.0.0.1:4222" }).NATS_URL).toEqual(["nats://127.0.0.1:4222"]);
    expect(common({ NATS_URL: " nats://a:4222, nats://b:4222,,tls://c:4222 " }).NATS_URL).toEqual([
      "nats://a:4222",
      "nats://b:4222",
      "tls://c:4222",
    ]);
    expect(common({ NATS_URL: " , " }).NATS_URL).toBeUndefined();
  });

  it("refuses a NATS_URL entry that is not a nats:// or tls:// URL, by its position and without its value", () => {
    for (const value of ["nats://a:4222,http://b:4222", "nats://a:4222,b:4222", "nats://a:4222 nats://b:4222"]) {
      const message = configErrorOf(() => common({ NATS_URL: value }));
      expect(message).toMatch(namesVariable("NATS_URL"));
      expect(message).not.toContain("b:4222");
    }
    expect(configErrorOf(() => common({ NATS_URL: "nats://a:4222,http://b:4222" }))).toContain("entry 2");
  });
});

describe("the database a service uses", () => {
  it("is the service's own URL when given, whatever else is set", () => {
    const env = common({ DATABASE_HOST: "db.internal" });
    expect(databaseUrlFor("postgres://auth@db/auth", env, "auth")).toBe("postgres://auth@db/auth");
  });

  it("is the embedded database (undefined) when neither a URL nor DATABASE_HOST is set", () => {
    expect(databaseUrlFor(undefined, common(), "user")).toBeUndefined();
  });

  it("is built from DATABASE_* with one database per service by default", () => {
    const env = common({ DATABASE_HOST: "db.internal", DATABASE_USER: "mint", DATABASE_PASSWORD: "p@ss word" });
    expect(databaseUrlFor(undefined, env, "auth")).toBe("postgres://mint:p%40ss%20word@db.internal:5432/mintcoin_auth");
    expect(databaseUrlFor(undefined, env, "user")).toBe("postgres://mint:p%40ss%20word@db.internal:5432/mintcoin_user");
  });

  it("uses DATABASE_NAME and DATABASE_PORT when set", () => {
    const env = common({ DATABASE_HOST: "db.internal", DATABASE_PORT: "6432", DATABASE_NAME: "shared" });
    expect(databaseUrlFor(undefined, env, "user")).toBe("postgres://db.internal:6432/shared");
  });
});
