import type { Client } from "@connectrpc/connect";
import { type AuthService, IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import type { AuthServiceHandle, AuthServiceOverrides } from "../../services/auth/app.js";
import { collectEvents, type EventCollector } from "../fixtures/events.js";
import { grpcAuthClient, type GrpcClient } from "../fixtures/grpc-clients.js";
import { manualClock } from "../fixtures/manual-clock.js";
import { capturingDelivery, connectAuthClient, startAuth, type RunningService } from "../fixtures/services.js";
import { createTestDatabase, startNats, type NatsInstance, type TestDatabase } from "../support/index.js";

// What most auth tests need in one line: a database and NATS of their own, an AuthService with a
// capturing code delivery and a manual clock (starting now, so JWTs verify against real time),
// Connect and grpc-js clients, and a reader of every event.

export type ManualClock = ReturnType<typeof manualClock>;
export type Capture = ReturnType<typeof capturingDelivery>;

export interface AuthHarness {
  database: TestDatabase;
  nats: NatsInstance;
  clock: ManualClock;
  capture: Capture;
  auth: RunningService<AuthServiceHandle>;
  client: Client<typeof AuthService>;
  grpc: GrpcClient;
  events: EventCollector;
  env: Record<string, string>;
  /** Starts one more instance on the same database and NATS (same clock and delivery). */
  startAnother(overrides?: AuthServiceOverrides): Promise<RunningService<AuthServiceHandle>>;
  close(): Promise<void>;
}

export async function startAuthHarness(options: { env?: Record<string, string> } = {}): Promise<AuthHarness> {
  const [database, nats] = await Promise.all([createTestDatabase(), startNats()]);
  const env = { AUTH_DATABASE_URL: database.url, NATS_URL: nats.url, OTP_DELIVERY: "nats", ...options.env };
  const clock = manualClock(new Date());
  const capture = capturingDelivery();
  const auth = await startAuth(env, { clock, delivery: capture });
  const others: RunningService<AuthServiceHandle>[] = [];
  const grpc = grpcAuthClient(auth.address);
  const events = await collectEvents(nats.url);
  return {
    database,
    nats,
    clock,
    capture,
    auth,
    client: connectAuthClient(auth.baseUrl),
    grpc,
    events,
    env,
    async startAnother(overrides) {
      const another = await startAuth(env, { clock, delivery: capture, ...overrides });
      others.push(another);
      return another;
    },
    async close() {
      grpc.close();
      await events.close();
      await Promise.all([auth, ...others].map((service) => service.close()));
      await nats.stop();
      await database.drop();
    },
  };
}

let counter = 0;
/** A fresh email address per call, so tests never share rate limits or identities. */
export function uniqueEmail(label = "user"): string {
  counter += 1;
  return `${label}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}

/** Sends a code to an email and returns it as the delivery saw it, with the challenge id SendOtp answered. */
export async function sendChallenge(
  h: Pick<AuthHarness, "client" | "capture">,
  email: string,
  purpose: OtpPurpose = OtpPurpose.LOGIN,
  options: { headers?: Record<string, string> } = {},
): Promise<{ code: string; challengeId: string }> {
  const { challengeId } = await h.client.sendOtp(
    { identifier: email, identifierType: IdentifierType.EMAIL, purpose, deviceId: "test-device" },
    options,
  );
  return { code: h.capture.lastCode(email.trim().toLowerCase()), challengeId };
}

/** Sends a code to an email and returns it as the delivery saw it (for guesses without a challenge). */
export async function sendCode(
  h: Pick<AuthHarness, "client" | "capture">,
  email: string,
  purpose: OtpPurpose = OtpPurpose.LOGIN,
): Promise<string> {
  return (await sendChallenge(h, email, purpose)).code;
}

/** A VerifyOtp request; without `challengeId` it is a guess as clients from before challenges make it. */
export function verifyRequest(email: string, code: string, purpose: OtpPurpose = OtpPurpose.LOGIN, challengeId = "") {
  return { identifier: email, identifierType: IdentifierType.EMAIL, code, purpose, challengeId };
}

/** A code that is certainly not `code`. */
export function wrongCode(code: string): string {
  return code === "000000" ? "111111" : "000000";
}

/** Sends and verifies a code: the verification token for `email`. */
export async function verificationToken(
  h: Pick<AuthHarness, "client" | "capture">,
  email: string,
  purpose: OtpPurpose = OtpPurpose.LOGIN,
): Promise<string> {
  const { code, challengeId } = await sendChallenge(h, email, purpose);
  const { verificationToken } = await h.client.verifyOtp(verifyRequest(email, code, purpose, challengeId));
  return verificationToken;
}

export interface SignInOptions {
  deviceId?: string;
  deviceName?: string;
  userAgent?: string;
  /** Client IP, sent as X-Forwarded-For (the harness trusts 127.0.0.1 as a proxy when asked to). */
  ip?: string;
}

export function callHeaders(options: {
  userAgent?: string;
  ip?: string;
  accessToken?: string;
}): Record<string, string> {
  const headers: Record<string, string> = {};
  if (options.userAgent) headers["user-agent"] = options.userAgent;
  if (options.ip) headers["x-forwarded-for"] = options.ip;
  if (options.accessToken) headers.authorization = `Bearer ${options.accessToken}`;
  return headers;
}

/** The whole OTP sign-in: SendOtp, VerifyOtp, Login. */
export async function signIn(h: Pick<AuthHarness, "client" | "capture">, email: string, options: SignInOptions = {}) {
  const token = await verificationToken(h, email);
  return h.client.login(
    { verificationToken: token, deviceId: options.deviceId ?? "device-1", deviceName: options.deviceName ?? "" },
    { headers: callHeaders(options) },
  );
}
