/**
 * The identity services for other TypeScript services: typed clients and local token checks.
 *
 *   import { authV1, createIdentityClients, createTokenVerifier } from "./services/client/index.js";
 *
 *   const identity = createIdentityClients({ authUrl: "http://auth:50051", userUrl: "http://user:50052", protocol: "grpc" });
 *   const phone = { identifier: "+447911123456", identifierType: authV1.IdentifierType.PHONE, purpose: authV1.OtpPurpose.LOGIN };
 *   const { challengeId } = await identity.auth.sendOtp({ ...phone, deviceId: "checkout-web" });
 *   // Pass the challenge id back with the code the person types: only then do strangers' guesses leave it alone.
 *   const { verificationToken } = await identity.auth.verifyOtp({ ...phone, code: typedCode, challengeId });
 *
 *   const tokens = createTokenVerifier({ jwksUrl: "http://auth:50051/.well-known/jwks.json", issuer: "mintcoin-auth", audience: "mintcoin" });
 *   const caller = await tokens.verify(accessToken); // throws ConnectError UNAUTHENTICATED when it is not valid
 *   const { user } = await identity.user.getMe({}, { headers: { authorization: `Bearer ${accessToken}` } });
 *   console.log(caller.userId, caller.roles, user?.username);
 *   requireRecentAuthentication(caller, { maxAgeSeconds: 300 }); // before a withdrawal: STEP_UP_REQUIRED unless fresh
 *   identity.close(); // at shutdown: closes the HTTP/2 connections
 */
import { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { createRemoteJWKSet } from "jose";
import { AuthService } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { UserService } from "../../gen/mintcoin/user/v1/user_pb.js";
import { createAccessTokenVerifier } from "../shared/auth/access-token.js";
import {
  isServicePrincipal,
  type Principal,
  type ServicePrincipal,
  type VerifiedCaller,
} from "../shared/auth/principal.js";
import { requireRecentAuthentication as checkRecentAuthentication } from "../shared/auth/recent-authentication.js";
import { DomainError } from "../shared/errors/domain-errors.js";
import { domainErrorToConnectError } from "../shared/errors/to-connect-error.js";

export * as authV1 from "../../gen/mintcoin/auth/v1/auth_pb.js";
export * as userV1 from "../../gen/mintcoin/user/v1/user_pb.js";
// Subject -> protobuf message type of every event, for consumers decoding JetStream messages.
export { eventCatalog, schemaForSubject, type EventSubject } from "../shared/events/catalog.js";
export { isServicePrincipal, type Principal, type ServicePrincipal, type VerifiedCaller };

export interface IdentityClientOptions {
  /** Base URL of the AuthService, e.g. http://auth.internal:50051. */
  authUrl: string;
  /** Base URL of the UserService, e.g. http://user.internal:50052. */
  userUrl: string;
  /**
   * "grpc": the gRPC protocol over HTTP/2, multiplexed on one connection per service (the choice
   * inside a network). "connect": the Connect protocol over HTTP/1.1, which passes any HTTP proxy.
   */
  protocol: "grpc" | "connect";
  /** Run on every call, e.g. to add a service token or tracing headers. */
  interceptors?: Interceptor[];
  /** Deadline of each call unless the call sets its own (default 10 s). */
  timeoutMs?: number;
}

export interface IdentityClients {
  auth: Client<typeof AuthService>;
  user: Client<typeof UserService>;
  /** Closes the HTTP/2 connections; calls made after it open new ones. */
  close(): void;
}

export function createIdentityClients(options: IdentityClientOptions): IdentityClients {
  const sessions: Http2SessionManager[] = [];
  const transportFor = (baseUrl: string): Transport => {
    const common = { baseUrl, interceptors: options.interceptors, defaultTimeoutMs: options.timeoutMs ?? 10_000 };
    if (options.protocol === "connect") return createConnectTransport({ ...common, httpVersion: "1.1" });
    const sessionManager = new Http2SessionManager(baseUrl);
    sessions.push(sessionManager);
    return createGrpcTransport({ ...common, sessionManager });
  };
  return {
    auth: createClient(AuthService, transportFor(options.authUrl)),
    user: createClient(UserService, transportFor(options.userUrl)),
    close: () => {
      for (const session of sessions) session.abort();
    },
  };
}

export interface TokenVerifierOptions {
  /** The auth service's JWKS, e.g. http://auth.internal:50051/.well-known/jwks.json. */
  jwksUrl: string;
  /** JWT_ISSUER of the auth service (default there: mintcoin-auth). */
  issuer: string;
  /** JWT_AUDIENCE of the auth service (default there: mintcoin). */
  audience: string;
}

export interface TokenVerifier {
  /**
   * The person of a valid access token; ConnectError with Code.Unauthenticated otherwise, a service
   * account's token (AuthService.IssueServiceToken, POST /oauth2/token) included.
   */
  verify(accessToken: string): Promise<Principal>;
  /**
   * The person or the service account of a valid access token (tell them apart with
   * isServicePrincipal: a service account has `clientId` and `scopes`); ConnectError with
   * Code.Unauthenticated otherwise.
   */
  verifyCaller(accessToken: string): Promise<VerifiedCaller>;
}

/**
 * Checks access tokens locally: signature, expiry, issuer, audience and token type, against the
 * auth service's public keys. Keys are fetched once and cached (jose refetches on an unknown key id,
 * at most every 30 s, so a rotated key is picked up without a restart). Make one per process.
 * It does not see revocations: a signed-out session's token stays valid until it expires (15 min);
 * where that matters, ask AuthService.ValidateToken or follow auth.session.revoked events.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const verifier = createAccessTokenVerifier({
    keys: createRemoteJWKSet(new URL(options.jwksUrl)),
    issuer: options.issuer,
    audience: options.audience,
  });
  async function verifyCaller(accessToken: string): Promise<VerifiedCaller> {
    try {
      return await verifier.verify(accessToken);
    } catch (error) {
      // A Connect error, so that a Connect or gRPC handler can let it through as it is.
      if (error instanceof DomainError)
        throw new ConnectError(error.message, Code.Unauthenticated, undefined, undefined, error);
      throw error;
    }
  }
  return {
    verifyCaller,
    async verify(accessToken) {
      const caller = await verifyCaller(accessToken);
      if (isServicePrincipal(caller))
        throw new ConnectError("a service account's token is not a person's", Code.Unauthenticated);
      return caller;
    },
  };
}

/**
 * "Authenticated within N minutes", for a sensitive action (a withdrawal, a payout change): passes
 * when the caller's access token says the person signed in or stepped up (AuthService.StepUp) at
 * most `maxAgeSeconds` ago (`auth_time`; refreshing keeps it), else throws a ConnectError a
 * Connect or gRPC handler can let through as it is: PERMISSION_DENIED with google.rpc.ErrorInfo
 * reason STEP_UP_REQUIRED, domain identity.mintcoin and metadata `max_age_seconds`, the same answer
 * the identity services give (docs/errors.md). A client that sees it calls StepUp and retries with
 * the new access token. A token without `auth_time` (a sign-in held for step-up) never passes, nor
 * does a service account's (verifyCaller): it has no person who could have authenticated.
 *
 *   const caller = await tokens.verify(accessToken);
 *   requireRecentAuthentication(caller, { maxAgeSeconds: 300 });
 *
 * `now` defaults to the system clock (tests may pass their own).
 */
export function requireRecentAuthentication(
  principal: Pick<Principal, "authTime">,
  options: { maxAgeSeconds: number; now?: Date },
): void {
  try {
    checkRecentAuthentication(principal, { maxAgeSeconds: options.maxAgeSeconds, now: options.now ?? new Date() });
  } catch (error) {
    if (error instanceof DomainError) throw domainErrorToConnectError(error);
    throw error;
  }
}
