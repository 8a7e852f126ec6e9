import { describe, expect, it } from "vitest";
import { loadAuthConfig } from "../../services/auth/config.js";
import { ConfigError } from "../../services/shared/config/env.js";

// A one-time code in the log is a live credential for whoever reads the logs: codes go there only
// when OTP_DELIVERY=log is chosen, or on the embedded development setup (no NATS, no database URL),
// never as a stand-in for a NATS link that is not configured.

const configErrorOf = (load: () => unknown): ConfigError => {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
};

describe("OTP delivery is never the log by accident", () => {
  it("refuses OTP_DELIVERY=nats without NATS_URL, naming NATS_URL", () => {
    const error = configErrorOf(() => loadAuthConfig({ OTP_DELIVERY: "nats" }));
    expect(error.message).toContain("NATS_URL");
  });

  it("logs codes only when chosen, or on the embedded development setup", () => {
    expect(loadAuthConfig({}).otpDelivery).toBe("log");
    expect(loadAuthConfig({ OTP_DELIVERY: "log", AUTH_DATABASE_URL: "postgres://db/auth" }).otpDelivery).toBe("log");
    expect(loadAuthConfig({ NATS_URL: "nats://127.0.0.1:4222" }).otpDelivery).toBe("nats");
    // A real database without NATS: neither; the service will not start without a delivery of its own.
    expect(loadAuthConfig({ AUTH_DATABASE_URL: "postgres://db/auth" }).otpDelivery).toBeUndefined();
  });
});
