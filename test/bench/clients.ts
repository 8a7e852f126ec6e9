// The two kinds of client the issue names, behind one small interface so every scenario runs with
// either: @grpc/grpc-js (gRPC, .proto loaded at run time, as another team's service would) and
// Connect's own Node client (Connect protocol, binary, over HTTP/2).
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService, IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { UserService } from "../../gen/mintcoin/user/v1/user_pb.js";
import { bearer, grpc, grpcAuthClient, grpcUserClient, type GrpcClient } from "../fixtures/grpc-clients.js";
import * as protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

export interface Tokens {
  accessToken: string;
  refreshToken: string;
}

export interface SignedIn extends Tokens {
  userId: string;
  sessionId: string;
  newUser: boolean;
}

export interface BenchClient {
  readonly kind: "grpc-js" | "connect";
  health(): Promise<void>;
  // `from`: the client's address, sent as X-Forwarded-For (the services trust the benchmark as their
  // proxy); without it the call comes from 127.0.0.1 like every other.
  sendOtp(email: string, deviceId: string, from?: string): Promise<void>;
  verifyOtp(email: string, code: string, from?: string): Promise<string>;
  login(verificationToken: string, deviceId: string, from?: string): Promise<SignedIn>;
  refresh(refreshToken: string, deviceId: string, from?: string): Promise<Tokens>;
  validateToken(accessToken: string): Promise<boolean>;
  createUser(accessToken: string, username: string, name: string): Promise<void>;
  getMe(accessToken: string): Promise<string>;
  close(): void;
}

export function connectClient(authBaseUrl: string, userBaseUrl: string): BenchClient {
  const auth: Client<typeof AuthService> = createClient(
    AuthService,
    createConnectTransport({ baseUrl: authBaseUrl, httpVersion: "2" }),
  );
  const health = createClient(Health, createConnectTransport({ baseUrl: authBaseUrl, httpVersion: "2" }));
  const user: Client<typeof UserService> = createClient(
    UserService,
    createConnectTransport({ baseUrl: userBaseUrl, httpVersion: "2" }),
  );
  const authorization = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  const forwardedFor = (from: string | undefined) => (from ? { headers: { "x-forwarded-for": from } } : undefined);
  return {
    kind: "connect",
    async health() {
      await health.check({ service: "" });
    },
    async sendOtp(email, deviceId, from) {
      await auth.sendOtp(
        {
          identifier: email,
          identifierType: IdentifierType.EMAIL,
          purpose: OtpPurpose.LOGIN,
          deviceId,
        },
        forwardedFor(from),
      );
    },
    async verifyOtp(email, code, from) {
      const response = await auth.verifyOtp(
        {
          identifier: email,
          identifierType: IdentifierType.EMAIL,
          code,
          purpose: OtpPurpose.LOGIN,
        },
        forwardedFor(from),
      );
      return response.verificationToken;
    },
    async login(verificationToken, deviceId, from) {
      const response = await auth.login({ verificationToken, deviceId, deviceName: "bench" }, forwardedFor(from));
      return {
        accessToken: response.tokens?.accessToken ?? "",
        refreshToken: response.tokens?.refreshToken ?? "",
        userId: response.userId,
        sessionId: response.sessionId,
        newUser: response.newUser,
      };
    },
    async refresh(refreshToken, deviceId, from) {
      const response = await auth.refreshToken({ refreshToken, deviceId }, forwardedFor(from));
      return { accessToken: response.tokens?.accessToken ?? "", refreshToken: response.tokens?.refreshToken ?? "" };
    },
    async validateToken(accessToken) {
      return (await auth.validateToken({ accessToken })).valid;
    },
    async createUser(accessToken, username, name) {
      await user.createUser({ username, name }, authorization(accessToken));
    },
    async getMe(accessToken) {
      return (await user.getMe({}, authorization(accessToken))).user?.id ?? "";
    },
    close() {},
  };
}

const protoRoot = fileURLToPath(new URL("../../proto", import.meta.url));

/** The one method of grpc.health.v1.Health the bench calls, in grpc-js's callback style. */
type GrpcHealthClient = grpc.Client & {
  check(request: { service: string }, callback: (error: Error | null) => void): void;
};

function grpcHealthClient(address: string): GrpcHealthClient {
  const definition = protoLoader.loadSync("grpc/health/v1/health.proto", {
    includeDirs: [protoRoot],
    keepCase: true,
    defaults: true,
  });
  const health = (
    grpc.loadPackageDefinition(definition) as unknown as {
      grpc: {
        health: { v1: { Health: new (address: string, credentials: grpc.ChannelCredentials) => GrpcHealthClient } };
      };
    }
  ).grpc.health.v1.Health;
  return new health(address, grpc.credentials.createInsecure());
}

export function grpcJsClient(authAddress: string, userAddress: string): BenchClient {
  const auth: GrpcClient = grpcAuthClient(authAddress);
  const user: GrpcClient = grpcUserClient(userAddress);
  const health = grpcHealthClient(authAddress);
  type Pair = { access_token: string; refresh_token: string };
  return {
    kind: "grpc-js",
    health() {
      return new Promise((resolve, reject) =>
        health.check({ service: "" }, (error: Error | null) => (error ? reject(error) : resolve())),
      );
    },
    async sendOtp(email, deviceId, from) {
      await auth.SendOtp!(
        {
          identifier: email,
          identifier_type: "IDENTIFIER_TYPE_EMAIL",
          purpose: "OTP_PURPOSE_LOGIN",
          device_id: deviceId,
        },
        forwardedForMetadata(from),
      );
    },
    async verifyOtp(email, code, from) {
      const response = await auth.VerifyOtp!(
        {
          identifier: email,
          identifier_type: "IDENTIFIER_TYPE_EMAIL",
          code,
          purpose: "OTP_PURPOSE_LOGIN",
        },
        forwardedForMetadata(from),
      );
      return String(response.verification_token);
    },
    async login(verificationToken, deviceId, from) {
      const response = await auth.Login!(
        {
          verification_token: verificationToken,
          device_id: deviceId,
          device_name: "bench",
        },
        forwardedForMetadata(from),
      );
      const tokens = response.tokens as Pair;
      return {
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token,
        userId: String(response.user_id),
        sessionId: String(response.session_id),
        newUser: Boolean(response.new_user),
      };
    },
    async refresh(refreshToken, deviceId, from) {
      const response = await auth.RefreshToken!(
        { refresh_token: refreshToken, device_id: deviceId },
        forwardedForMetadata(from),
      );
      const tokens = response.tokens as Pair;
      return { accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
    },
    async validateToken(accessToken) {
      return Boolean((await auth.ValidateToken!({ access_token: accessToken })).valid);
    },
    async createUser(accessToken, username, name) {
      await user.CreateUser!({ username, name }, bearer(accessToken));
    },
    async getMe(accessToken) {
      const response = await user.GetMe!({}, bearer(accessToken));
      return String((response.user as { id?: string } | undefined)?.id ?? "");
    },
    close() {
      auth.close();
      user.close();
      health.close();
    },
  };
}

function forwardedForMetadata(from: string | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (from) metadata.set("x-forwarded-for", from);
  return metadata;
}
