import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService, IdentifierType, OtpPurpose, SendOtpRequestSchema } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { UserService } from "../../gen/mintcoin/user/v1/user_pb.js";
import { capturingDelivery, connectAuthClient, startAuth, type RunningService } from "../fixtures/services.js";
import { createTestDatabase, type TestDatabase } from "../support/index.js";
import type { AuthServiceHandle } from "../../services/auth/app.js";
import { grpcRawCaller, healthStatuses, postConnect, postGrpcWeb, type Outcome } from "./helpers/rpc-callers.js";
import { bearer } from "./helpers/sign-in.js";
import { startStack, type Stack } from "./helpers/stack.js";

// Request size limits (MAX_REQUEST_BYTES, also after decompression, on every protocol) and the
// per-IP SendOtp limit: a client cannot get around it by claiming another address in
// X-Forwarded-For; only a configured proxy (TRUSTED_PROXIES) is believed, and only for the hop it added.

const maxRequestBytes = 2_048;
const sendOtp = AuthService.method.sendOtp;

function sendOtpBody(identifier: string, padding = 0): Uint8Array {
  const message = toBinary(
    SendOtpRequestSchema,
    create(SendOtpRequestSchema, {
      identifier,
      identifierType: IdentifierType.EMAIL,
      purpose: OtpPurpose.LOGIN,
      deviceId: "d",
    }),
  );
  if (padding === 0) return message;
  // An unknown field (number 15) of `padding` bytes: the body grows, the message stays valid.
  const field = Buffer.concat([Buffer.from([0x7a]), varint(padding), Buffer.alloc(padding, 0x61)]);
  return new Uint8Array(Buffer.concat([message, field]));
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  bytes.push(value);
  return Buffer.from(bytes);
}

describe("request size limits", () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      authEnv: {
        MAX_REQUEST_BYTES: String(maxRequestBytes),
        OTP_RATE_LIMIT_MAX_REQUESTS: "1000",
        OTP_IP_RATE_LIMIT_MAX_REQUESTS: "1000",
      },
      userEnv: { MAX_REQUEST_BYTES: String(maxRequestBytes) },
      authOverrides: { delivery: capturingDelivery() },
    });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it("takes a body just under MAX_REQUEST_BYTES and refuses one just over it with RESOURCE_EXHAUSTED, on Connect, gRPC and gRPC-Web", async () => {
    const grpcCaller = grpcRawCaller(stack.auth.address);
    try {
      const base = sendOtpBody("size@example.com").length;
      // 3 bytes for the padding field's tag and length.
      const under = sendOtpBody("size@example.com", maxRequestBytes - base - 3);
      const over = sendOtpBody("size@example.com", maxRequestBytes - base - 3 + 1);
      expect(under.length).toBe(maxRequestBytes);
      expect(over.length).toBe(maxRequestBytes + 1);
      const callers: Array<[string, (body: Uint8Array) => Promise<Outcome>]> = [
        ["connect", (body) => postConnect(stack.auth.baseUrl, sendOtp, body)],
        ["grpc", (body) => grpcCaller.call(sendOtp, body)],
        ["grpc-web", (body) => postGrpcWeb(stack.auth.baseUrl, sendOtp, body)],
      ];
      for (const [name, call] of callers) {
        expect((await call(under)).code, name).toBe("ok");
        expect((await call(over)).code, name).toBe(Code.ResourceExhausted);
      }
    } finally {
      grpcCaller.close();
    }
  });

  it("measures the limit after decompression: a gzip bomb is refused, a small gzip body is fine", async () => {
    const bomb = gzipSync(sendOtpBody("bomb@example.com", 10 * 1024 * 1024)); // 10 MiB of 'a' in ~10 KiB
    expect(bomb.length).toBeLessThan(64 * 1024);
    const small = gzipSync(sendOtpBody("gzip@example.com"));
    const post = (body: Uint8Array) =>
      postConnect(stack.auth.baseUrl, sendOtp, body, { headers: { "content-encoding": "gzip" } });
    expect((await post(small)).code).toBe("ok");
    expect((await post(bomb)).code).toBe(Code.ResourceExhausted);
  });

  it("refuses an oversized body to the user service too, before authentication", async () => {
    const outcome = await postConnect(
      stack.user.baseUrl,
      UserService.method.updateMe,
      new Uint8Array(maxRequestBytes + 1),
    );
    expect(outcome.code).toBe(Code.ResourceExhausted);
  });

  it("survives a 1 MiB header and a 10 MiB body, and stays SERVING", async () => {
    const hugeHeader = await fetch(`${stack.auth.baseUrl}/${AuthService.typeName}/SendOtp`, {
      method: "POST",
      headers: { "content-type": "application/proto", "x-junk": "a".repeat(1024 * 1024) },
      body: Buffer.from(sendOtpBody("header@example.com")),
    }).then(
      (response) => response.status,
      () => "connection closed",
    );
    expect([431, 400, "connection closed"]).toContain(hugeHeader);
    const hugeBody = await postConnect(stack.auth.baseUrl, sendOtp, new Uint8Array(10 * 1024 * 1024)).catch(
      () => undefined,
    );
    expect(hugeBody === undefined || hugeBody.code === Code.ResourceExhausted).toBe(true);
    expect(await healthStatuses(stack.auth.baseUrl, AuthService)).toEqual(["SERVING", "SERVING"]);
  });
});

describe("X-Forwarded-For and the per-IP SendOtp limit", () => {
  const ipLimit = 5;
  const limits = { OTP_IP_RATE_LIMIT_MAX_REQUESTS: String(ipLimit), OTP_RATE_LIMIT_MAX_REQUESTS: "1000" };
  let database: TestDatabase;
  let direct: RunningService<AuthServiceHandle>;
  let behindProxy: RunningService<AuthServiceHandle>;
  const delivery = capturingDelivery();

  beforeAll(async () => {
    database = await createTestDatabase();
    // Two instances on one database: one that trusts nobody's header, one behind a proxy at 127.0.0.1.
    direct = await startAuth({ AUTH_DATABASE_URL: database.url, OTP_DELIVERY: "log", ...limits }, { delivery });
    behindProxy = await startAuth(
      { AUTH_DATABASE_URL: database.url, OTP_DELIVERY: "log", TRUSTED_PROXIES: "127.0.0.1,::1", ...limits },
      { delivery },
    );
  });

  afterAll(async () => {
    await direct?.close();
    await behindProxy?.close();
    await database?.drop();
  });

  async function sendWithForwardedFor(
    service: RunningService<AuthServiceHandle>,
    count: number,
    forwardedFor: (index: number) => string,
    tag: string,
  ) {
    const client = connectAuthClient(service.baseUrl);
    const codes: Array<Code | "ok"> = [];
    for (let index = 0; index < count; index++) {
      const request = {
        identifier: `${tag}-${index}@example.com`,
        identifierType: IdentifierType.EMAIL,
        purpose: OtpPurpose.LOGIN,
        deviceId: "d",
      };
      codes.push(
        await client.sendOtp(request, { headers: { "x-forwarded-for": forwardedFor(index) } }).then(
          () => "ok" as const,
          (error: unknown) => ConnectError.from(error).code,
        ),
      );
    }
    return codes;
  }

  it("ignores X-Forwarded-For from a client that is not a trusted proxy: a new claimed address per request still hits the limit", async () => {
    const codes = await sendWithForwardedFor(direct, 12, (index) => `198.51.100.${index}`, "spoof-http");
    expect(codes.filter((code) => code === "ok")).toHaveLength(ipLimit);
    expect(codes.slice(ipLimit).every((code) => code === Code.ResourceExhausted)).toBe(true);
  });

  it("ignores x-forwarded-for metadata over gRPC too (the same peer's limit is already used up)", async () => {
    const metadata = new grpc.Metadata();
    metadata.set("x-forwarded-for", "203.0.113.77");
    const outcome = await new Promise<grpc.StatusObject | null>((resolve) => {
      const client = new grpc.Client(direct.address, grpc.credentials.createInsecure());
      client.makeUnaryRequest(
        `/${AuthService.typeName}/SendOtp`,
        (bytes: Buffer) => bytes,
        (bytes: Buffer) => bytes,
        Buffer.from(sendOtpBody("spoof-grpc@example.com")),
        metadata,
        (error) => {
          client.close();
          resolve(error);
        },
      );
    });
    expect(outcome?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it("believes a trusted proxy: each forwarded client address gets its own limit", async () => {
    const codes = await sendWithForwardedFor(behindProxy, 12, (index) => `192.0.2.${index}`, "proxied");
    expect(codes.every((code) => code === "ok")).toBe(true);
  });

  it("behind a trusted proxy, uses the hop the proxy added, not what the client wrote in front of it", async () => {
    // The client claims a new address each time; the proxy appends the real one (192.0.2.200).
    const codes = await sendWithForwardedFor(behindProxy, 12, (index) => `10.9.8.${index}, 192.0.2.200`, "chained");
    expect(codes.filter((code) => code === "ok")).toHaveLength(ipLimit);
  });

  it("behind a trusted proxy that appends the source port, counts the address: a new port is not a new network", async () => {
    const codes = await sendWithForwardedFor(behindProxy, 12, (index) => `192.0.2.202:${40_000 + index}`, "ported");
    expect(codes.filter((code) => code === "ok")).toHaveLength(ipLimit);
    const bracketed = await sendWithForwardedFor(
      behindProxy,
      12,
      (index) => `[2001:db8:5::${index + 1}]:${40_000 + index}`,
      "ported-v6",
    );
    expect(bracketed.filter((code) => code === "ok")).toHaveLength(ipLimit);
  });

  it("records the connection's address, not a claimed one, on the session of an untrusted client", async () => {
    const client = connectAuthClient(direct.baseUrl);
    const forwarded = { headers: { "x-forwarded-for": "198.51.100.250" } };
    // 127.0.0.1's send limit is used up above, so the code is sent through the proxy-trusting instance
    // (as another forwarded client); VerifyOtp and Login go to the instance that trusts nobody.
    const proxied = connectAuthClient(behindProxy.baseUrl);
    await proxied.sendOtp(
      {
        identifier: "where@example.com",
        identifierType: IdentifierType.EMAIL,
        purpose: OtpPurpose.LOGIN,
        deviceId: "d",
      },
      { headers: { "x-forwarded-for": "192.0.2.201" } },
    );
    const code = delivery.lastCode("where@example.com");
    const { verificationToken } = await client.verifyOtp({
      identifier: "where@example.com",
      identifierType: IdentifierType.EMAIL,
      code,
      purpose: OtpPurpose.LOGIN,
    });
    const login = await client.login({ verificationToken, deviceId: "d", deviceName: "" }, forwarded);
    const { sessions } = await client.listSessions({}, bearer(login.tokens!.accessToken));
    expect(sessions.map((session) => session.ipAddress)).toEqual(["127.0.0.1"]);
  });
});
