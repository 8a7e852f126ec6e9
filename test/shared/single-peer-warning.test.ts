import { createContextValues, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { Logger } from "../../services/shared/logging.js";
import { requestInfoKey } from "../../services/shared/server/request-info.js";
import { createSinglePeerWarning } from "../../services/shared/server/single-peer-warning.js";

// With TRUSTED_PROXIES empty, a proxy in front of the service makes every client look like one
// peer, and every client shares one per-IP limit: the service says so in its log, once.

function recordingLogger() {
  const warnings: Array<{ fields: Record<string, unknown>; message: string }> = [];
  const logger = {
    warn: (fields: Record<string, unknown>, message: string) => warnings.push({ fields, message }),
  } as unknown as Logger;
  return { logger, warnings };
}

function callFrom(interceptor: ReturnType<typeof createSinglePeerWarning>) {
  const next = interceptor(async () => ({}) as UnaryResponse);
  return (ip: string, headers: Record<string, string> = {}) =>
    next({
      contextValues: createContextValues().set(requestInfoKey, { requestId: "r", ip, userAgent: "" }),
      header: new Headers(headers),
    } as unknown as UnaryRequest);
}

describe("the single-peer warning", () => {
  it("warns once when the first 100 calls all come from one peer, naming it and counting forwarded headers", async () => {
    const { logger, warnings } = recordingLogger();
    const call = callFrom(createSinglePeerWarning(logger));
    for (let i = 0; i < 99; i++) await call("10.0.0.5", { "x-forwarded-for": `198.51.100.${i}` });
    expect(warnings).toHaveLength(0);
    for (let i = 0; i < 200; i++) await call("10.0.0.5");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.fields).toMatchObject({ peer: "10.0.0.5", calls: 100, withForwardedFor: 99 });
    expect(warnings[0]!.message).toContain("TRUSTED_PROXIES");
  });

  it("stays quiet once a second peer shows up", async () => {
    const { logger, warnings } = recordingLogger();
    const call = callFrom(createSinglePeerWarning(logger));
    await call("10.0.0.5");
    await call("10.0.0.6");
    for (let i = 0; i < 300; i++) await call("10.0.0.5");
    expect(warnings).toHaveLength(0);
  });
});
