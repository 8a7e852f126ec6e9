import {
  create,
  fromBinary,
  toBinary,
  toJsonString,
  type DescMessage,
  type DescMethod,
  type DescService,
} from "@bufbuild/protobuf";
import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import type { ClientCredentials } from "../../services/auth/domain/service-accounts.js";
import { UserService } from "../../gen/mintcoin/user/v1/user_pb.js";
import { eventCatalog, type EventSubject } from "../../services/shared/events/catalog.js";
import { capturingDelivery, connectAuthClient, connectUserClient } from "../fixtures/services.js";
import {
  malformedBodyArbitrary,
  malformedJsonArbitrary,
  stringFieldPaths,
  withString,
} from "./helpers/malformed-bodies.js";
import { messageArbitrary, mutatedMessageArbitrary } from "./helpers/message-arbitrary.js";
import {
  clientErrorCodes,
  connectCaller,
  describeOutcome,
  grpcRawCaller,
  healthStatuses,
  postConnect,
  postGrpcWeb,
  type GrpcRawCaller,
  type Outcome,
} from "./helpers/rpc-callers.js";
import { signIn, signUp } from "./helpers/sign-in.js";
import { generousLimits, startStack, type Stack } from "./helpers/stack.js";

// Thousands of random, boundary and malformed requests to every RPC of both services, through real
// clients (Connect over HTTP/1.1 in binary and JSON, fetch with hand-built bodies, grpc-js over
// HTTP/2). Every answer must be one a client can act on, never INTERNAL; afterwards both services
// are healthy and their databases hold no half-written change.

const maxRequestBytes = 64 * 1024;
/**
 * Requests go out in concurrent batches (as from many clients at once, and faster than one by one):
 * per RPC 5 batches of typed and 3 of malformed requests, so with 37 RPCs about 1,800 calls a run
 * (plus the NUL sweep).
 */
const batchSize = 6;
const typedBatches = 5;
const malformedBatches = 3;

/** A client error: every RPC is built, so UNIMPLEMENTED is not one. */
function acceptable(outcome: Outcome): boolean {
  return clientErrorCodes.has(outcome.code);
}

const someUuid = "0b6f4a4e-9a5e-4d8e-9d3c-3f1f2a6b7c8d";
const email = { identifier: "nul@fuzz.example", identifierType: 2 };
/** A valid request per RPC, so that a single bad field is what the service sees (and it gets past validation). */
const validBase: Record<string, Record<string, unknown>> = {
  SendOtp: { ...email, purpose: 1, deviceId: "d" },
  VerifyOtp: { ...email, purpose: 1, code: "123456" },
  Login: { verificationToken: "x", deviceId: "d" },
  RefreshToken: { refreshToken: "x", deviceId: "d" },
  RevokeSession: { sessionId: someUuid },
  ValidateToken: { accessToken: "x" },
  SetPassword: { verificationToken: "x", password: "0123456789" },
  LoginWithPassword: { ...email, password: "x", deviceId: "d" },
  ResetPassword: { verificationToken: "x", newPassword: "0123456789" },
  LinkIdentifier: { verificationToken: "x" },
  ReplaceIdentifier: { verificationToken: "x" },
  StepUp: { proof: { case: "password", value: "x" } },
  TrustDevice: { deviceId: "d" },
  BlockDevice: { deviceId: "d" },
  UnblockDevice: { deviceId: "d" },
  CreateUser: { username: "nul_newcomer", name: "N" },
  UpdateUsername: { username: "nul_name" },
  CheckUsernameAvailability: { username: "abc" },
  GetUser: { userId: someUuid },
  GetUserByUsername: { username: "abc" },
  GetUserByPhone: { phone: "+447911123456" },
  GetUserByEmail: { email: "a@b.example" },
  UpdateLifecycleState: { userId: someUuid, state: 3 },
  PromoteToCreator: { userId: someUuid },
  SuspendUser: { userId: someUuid, reason: "r" },
  UnsuspendUser: { userId: someUuid },
  BanUser: { userId: someUuid, reason: "r" },
  UpdateKycStatus: { userId: someUuid, kycStatus: 3, kycTier: 1 },
  IssueServiceToken: { clientId: "svc_fuzz", clientSecret: "mcs_fuzz", scope: "users.read" },
};

function encodesToJson(desc: DescMessage, message: Parameters<typeof toJsonString>[1]): boolean {
  try {
    toJsonString(desc, message);
    return true;
  } catch {
    return false;
  }
}

describe("hostile input to every RPC", () => {
  let stack: Stack;
  const delivery = capturingDelivery();
  /** Bearer tokens the fuzzer picks from: none, junk, an unsigned one, a user's, an admin's and a service account's. */
  const tokens: Array<string | undefined> = [undefined, "junk", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."];
  const anonymousTokens = tokens.length;
  /** A person and an admin (ADMIN_IDENTIFIERS), signed up; their access tokens follow the anonymous ones. */
  const signedIn = [
    ["person@fuzz.example", "fuzz_person"],
    ["admin@fuzz.example", "fuzz_admin"],
  ] as const;
  let grpcAuth: GrpcRawCaller;
  let grpcUser: GrpcRawCaller;
  /** A service account holding every scope: its token (the last slot) reaches every administrative RPC. */
  let service: ClientCredentials;
  const serviceToken = async () =>
    (await connectAuthClient(stack.auth.baseUrl).issueServiceToken({ ...service })).accessToken;

  beforeAll(async () => {
    stack = await startStack({
      authEnv: { ...generousLimits, ADMIN_IDENTIFIERS: "admin@fuzz.example" },
      authOverrides: { delivery },
    });
    grpcAuth = grpcRawCaller(stack.auth.address);
    grpcUser = grpcRawCaller(stack.user.address);
    const auth = connectAuthClient(stack.auth.baseUrl);
    const users = connectUserClient(stack.user.baseUrl);
    for (const [identifier, username] of signedIn)
      tokens.push((await signUp(auth, users, delivery, identifier, username)).accessToken);
    service = await stack.auth.handle.domain.serviceAccounts.create(
      "fuzz-service",
      ["users.read", "users.moderate", "users.kyc"],
      "hostile-input test",
    );
    tokens.push(await serviceToken());
  });

  // The fuzzer may sign its own callers out (Logout, RevokeAllSessions, BlockDevice...): each test
  // starts with sessions that are valid, so the handlers behind authentication get their share.
  beforeEach(async () => {
    const auth = connectAuthClient(stack.auth.baseUrl);
    for (const [index, [identifier]] of signedIn.entries()) {
      const slot = anonymousTokens + index;
      if (!(await auth.validateToken({ accessToken: tokens[slot]! })).valid) {
        tokens[slot] = (await signIn(auth, delivery, identifier, `fuzz-device-${Date.now()}`)).accessToken;
      }
    }
    // Service tokens live 5 minutes: a fresh one when this one has run out.
    const serviceSlot = anonymousTokens + signedIn.length;
    if (!(await auth.validateToken({ accessToken: tokens[serviceSlot]! })).valid)
      tokens[serviceSlot] = await serviceToken();
  });

  afterAll(async () => {
    grpcAuth?.close();
    grpcUser?.close();
    await stack?.close();
  });

  const services: Array<[DescService, () => string, () => GrpcRawCaller]> = [
    [AuthService, () => stack.auth.baseUrl, () => grpcAuth],
    [UserService, () => stack.user.baseUrl, () => grpcUser],
  ];

  for (const [service, baseUrl, grpcCaller] of services) {
    describe(service.name, () => {
      for (const method of service.methods) {
        it(`${method.name}: random and boundary messages from Connect (binary, JSON) and grpc-js get client error codes`, async () => {
          const callers = {
            connectBinary: connectCaller(baseUrl(), service, true),
            connectJson: connectCaller(baseUrl(), service, false),
            grpc: (m: DescMethod, message: Parameters<GrpcRawCaller["callMessage"]>[1], token?: string) =>
              grpcCaller().callMessage(m, message, token),
          };
          const call = fc.record({
            message: fc.oneof(
              messageArbitrary(method.input),
              mutatedMessageArbitrary(method.input, validBase[method.name] ?? {}),
            ),
            transport: fc.constantFrom("connectBinary", "connectJson", "grpc") as fc.Arbitrary<keyof typeof callers>,
            token: fc.constantFrom(...tokens),
          });
          await fc.assert(
            fc.asyncProperty(fc.array(call, { minLength: batchSize, maxLength: batchSize }), async (calls) => {
              const outcomes = await Promise.all(
                calls.map(async ({ message, transport, token }) => {
                  // Connect's client cannot put some values in JSON (e.g. a Timestamp with nanos > 999999999):
                  // that fails in the client, before anything is sent.
                  const via = transport === "connectJson" && !encodesToJson(method.input, message) ? "grpc" : transport;
                  return { via, outcome: await callers[via](method, message, token) };
                }),
              );
              for (const { via, outcome } of outcomes) {
                expect(acceptable(outcome), `${via} ${describeOutcome(outcome)}`).toBe(true);
              }
            }),
            {
              numRuns: typedBatches,
              examples: [[[{ message: create(method.input), transport: "grpc", token: undefined }]]],
            },
          );
        });

        it(`${method.name}: malformed bodies (invalid UTF-8, wrong wire types, truncation, over the size limit) get client error codes`, async () => {
          const valid = messageArbitrary(method.input).map((message) => toBinary(method.input as DescMessage, message));
          const call = fc.record({
            body: fc.oneof(
              {
                weight: 4,
                arbitrary: malformedBodyArbitrary(method.input, valid, maxRequestBytes).map((b) => ({
                  ...b,
                  json: false,
                })),
              },
              { weight: 1, arbitrary: malformedJsonArbitrary().map((b) => ({ ...b, json: true })) },
            ),
            protocol: fc.constantFrom("connect", "grpc", "grpcWeb"),
            token: fc.constantFrom(...tokens),
          });
          await fc.assert(
            fc.asyncProperty(fc.array(call, { minLength: batchSize, maxLength: batchSize }), async (calls) => {
              const outcomes = await Promise.all(
                calls.map(async ({ body: { label, body: bytes, json }, protocol, token }) => {
                  const via = json ? "connect" : protocol;
                  const outcome =
                    via === "grpc"
                      ? await grpcCaller().call(method, bytes, token)
                      : via === "grpcWeb"
                        ? await postGrpcWeb(baseUrl(), method, bytes, token)
                        : await postConnect(baseUrl(), method, bytes, {
                            contentType: json ? "application/json" : "application/proto",
                            token,
                          });
                  return { label: `${via} ${label}`, outcome };
                }),
              );
              for (const { label, outcome } of outcomes) {
                expect(acceptable(outcome), `${label} -> ${describeOutcome(outcome)}`).toBe(true);
              }
            }),
            { numRuns: malformedBatches },
          );
        });
      }

      it("is still SERVING afterwards, for the server and for the service", async () => {
        expect(await healthStatuses(baseUrl(), service)).toEqual(["SERVING", "SERVING"]);
      });
    });
  }

  it("answers a NUL character in any string field of any RPC with a client error, with a valid admin token", async () => {
    // Postgres text cannot hold U+0000: every string field of every request, one at a time.
    const admin = tokens[anonymousTokens + 1];
    expect(admin, "the admin signed in").toBeDefined();
    // CreateUser needs a caller without a profile to get as far as the database.
    const newcomer = (await signIn(connectAuthClient(stack.auth.baseUrl), delivery, "newcomer@fuzz.example"))
      .accessToken;
    const refused: string[] = [];
    for (const [service, baseUrl] of [
      [AuthService, stack.auth.baseUrl],
      [UserService, stack.user.baseUrl],
    ] as const) {
      const call = connectCaller(baseUrl, service, true);
      for (const method of service.methods) {
        for (const path of stringFieldPaths(method.input)) {
          const message = withString(method.input, path, "a\u0000b", validBase[method.name]);
          const outcome = await call(method, message, method.name === "CreateUser" ? newcomer : admin);
          if (!acceptable(outcome))
            refused.push(
              `${service.name}.${method.name} ${path.map((f) => f.name).join(".")}: ${describeOutcome(outcome)}`,
            );
        }
      }
    }
    expect(refused).toEqual([]);
  });

  it("leaves no half-written change: every outbox row decodes, every issued code has its auth.otp.sent, every profile its user.profile.created and a valid unique username", async () => {
    for (const url of [stack.authDatabase.url, stack.userDatabase.url]) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ id: string; subject: string; event_type: string; payload: Buffer }>(
          "select id, subject, event_type, payload from outbox",
        );
        for (const row of rows) {
          const schema = eventCatalog[row.subject as EventSubject] as DescMessage | undefined;
          expect(schema, `outbox row ${row.id} has an unknown subject ${row.subject}`).toBeDefined();
          expect(row.event_type).toBe(schema!.typeName);
          // Strict decoding: a string that is not UTF-8 would throw here.
          expect(() => fromBinary(schema!, row.payload)).not.toThrow();
        }
        if (url === stack.authDatabase.url) {
          const codes = await client.query<{ id: string }>("select id from otp_codes");
          const sent = rows
            .filter((row) => row.subject === "auth.otp.sent")
            .map((row) => (fromBinary(eventCatalog["auth.otp.sent"], row.payload) as { otpId: string }).otpId);
          expect(new Set(sent)).toEqual(new Set(codes.rows.map((row) => row.id)));
          expect(codes.rows.length).toBeGreaterThan(0);
        } else {
          // Every profile was created with its event, under a valid name no other profile holds in any case.
          const users = await client.query<{ id: string; username: string }>("select id, username from users");
          const created = rows
            .filter((row) => row.subject === "user.profile.created")
            .map((row) => (fromBinary(eventCatalog["user.profile.created"], row.payload) as { userId: string }).userId);
          expect(new Set(created)).toEqual(new Set(users.rows.map((row) => row.id)));
          for (const { username } of users.rows) expect(username).toMatch(/^[A-Za-z0-9_.]{3,30}$/);
          expect(new Set(users.rows.map((row) => row.username.toLowerCase())).size).toBe(users.rows.length);
        }
      } finally {
        await client.end();
      }
    }
  });
});
