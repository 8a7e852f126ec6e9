import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { clientNetwork } from "../../services/shared/client-network.js";
import { createPublicLookupLimit } from "../../services/user/domain/public-lookup-limit.js";
import { grpc } from "../fixtures/grpc-clients.js";
import { bearerOptions, startUserHarness, type SignedUp, type UserHarness } from "./harness.js";

// GetUser and GetUserByUsername need no token; look-ups without a valid one are limited per client
// network (an IPv4 address or an IPv6 /64), in a sliding window. Time is the harness's clock.

const second = 1_000;

/** RetryInfo's delay in milliseconds. */
function retryMs(error: ConnectError): number {
  const delay = error.findDetails(RetryInfoSchema)[0]?.retryDelay;
  return Number(delay?.seconds ?? -1) * 1000 + (delay?.nanos ?? 0) / 1e6;
}

describe("public look-ups: the limit per client network on calls without a token", () => {
  let h: UserHarness;
  let now = Date.now();
  const clock = { now: () => new Date(now) };
  let subject: SignedUp;

  beforeAll(async () => {
    h = await startUserHarness({
      clock,
      env: { TRUSTED_PROXIES: "127.0.0.1", PUBLIC_LOOKUP_IP_MAX_REQUESTS: "3", PUBLIC_LOOKUP_IP_WINDOW: "1m" },
    });
    subject = await h.signUp();
  });
  afterAll(async () => {
    await h?.close();
  });

  const from = (ip: string, token?: string) => ({
    headers: { "x-forwarded-for": ip, ...(token ? bearerOptions(token).headers : {}) },
  });
  const lookUp = (ip: string, token?: string) => h.client.getUser({ userId: subject.userId }, from(ip, token));
  const refusal = async (call: Promise<unknown>) =>
    ConnectError.from(
      await call.then(
        () => new Error("expected a refusal"),
        (error: unknown) => error,
      ),
    );

  it("refuses the look-up past the limit with RESOURCE_EXHAUSTED, RetryInfo and retry-after, in both protocols", async () => {
    const ip = "198.51.100.7";
    await lookUp(ip);
    // A miss counts too (guessing usernames is what the limit is for), and so do both RPCs together.
    const miss = await refusal(h.client.getUserByUsername({ username: "nobody_at_all" }, from(ip)));
    expect(miss.code).toBe(Code.NotFound);
    await h.client.getUserByUsername({ username: subject.user.username }, from(ip));

    const refused = await refusal(lookUp(ip));
    expect(refused.code).toBe(Code.ResourceExhausted);
    expect(refused.findDetails(ErrorInfoSchema)[0]?.reason).toBe("PUBLIC_LOOKUP_RATE_LIMITED");
    expect(retryMs(refused)).toBe(60 * second);
    expect(refused.metadata.get("retry-after")).toBe("60");

    const metadata = new grpc.Metadata();
    metadata.set("x-forwarded-for", ip);
    const grpcError = await h.grpc.GetUserByUsername({ username: subject.user.username }, metadata).then(
      () => undefined,
      (error: grpc.ServiceError) => error,
    );
    expect(grpcError?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);

    // Another network is not affected; a signed-in caller is not counted, nor is a service account
    // (a known caller too); a bad token is no sign-in.
    await expect(lookUp("198.51.100.8")).resolves.toBeDefined();
    const viewer = await h.signUp();
    await expect(lookUp(ip, viewer.token)).resolves.toBeDefined();
    const service = await h.tokens.service({ scopes: ["users.read"] });
    await expect(lookUp(ip, service)).resolves.toBeDefined();
    expect((await refusal(lookUp(ip, "junk"))).code).toBe(Code.ResourceExhausted);
  });

  it("slides: a look-up is allowed again once the oldest one in the window is a window old", async () => {
    const ip = "198.51.100.20";
    for (let i = 0; i < 3; i++) {
      await lookUp(ip);
      now += 20 * second;
    }
    // 50 s after the first look-up it still counts: it frees its slot when it is a full window old.
    now -= 10 * second;
    const early = await refusal(lookUp(ip));
    expect(retryMs(early)).toBe(10 * second);
    now += 10 * second + 1;
    await expect(lookUp(ip)).resolves.toBeDefined();
    const next = await refusal(lookUp(ip));
    expect(next.code).toBe(Code.ResourceExhausted);
    expect(retryMs(next)).toBe(20 * second - 1);
    expect(next.metadata.get("retry-after")).toBe("20");
  });

  it("counts an IPv6 client by its /64, and an IPv4-mapped address as its IPv4 address", async () => {
    for (const ip of ["2001:db8:1:2::1", "2001:db8:1:2:aaaa::9", "2001:db8:1:2:ffff:ffff:ffff:fffe"]) await lookUp(ip);
    expect((await refusal(lookUp("2001:db8:1:2::77"))).code).toBe(Code.ResourceExhausted);
    await expect(lookUp("2001:db8:1:3::1")).resolves.toBeDefined();

    for (const ip of ["203.0.113.5", "::ffff:203.0.113.5", "203.0.113.5"]) await lookUp(ip);
    expect((await refusal(lookUp("::ffff:203.0.113.5"))).code).toBe(Code.ResourceExhausted);
  });

  it("remembers at most maxNetworks networks, forgetting the least recently seen first", () => {
    const limit = createPublicLookupLimit({ clock, maxRequests: 1, windowMs: 60 * second, maxNetworks: 2 });
    limit.take("192.0.2.1");
    expect(() => limit.take("192.0.2.1")).toThrow(/too many/);
    limit.take("192.0.2.2");
    limit.take("192.0.2.3");
    limit.take("192.0.2.1"); // forgotten: it was the least recently seen of three
    expect(() => limit.take("192.0.2.3")).toThrow(/too many/);
  });

  it("names networks the way the limit counts them", () => {
    expect(clientNetwork("192.0.2.1")).toBe("192.0.2.1");
    expect(clientNetwork("2001:DB8:0:0:1::1")).toBe("2001:db8:0:0::/64");
    expect(clientNetwork("2001:db8::")).toBe("2001:db8:0:0::/64");
    expect(clientNetwork("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(clientNetwork("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(clientNetwork("::ffff:c000:201")).toBe("192.0.2.1");
    expect(clientNetwork("::1")).toBe("0:0:0:0::/64");
    expect(clientNetwork("")).toBe("unknown");
  });
});
