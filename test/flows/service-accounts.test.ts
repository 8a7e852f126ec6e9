import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import type { AuthServiceHandle } from "../../services/auth/app.js";
import type { ClientCredentials } from "../../services/auth/domain/service-accounts.js";
import type { UserServiceHandle } from "../../services/user/app.js";
import { bearer, grpc, grpcUserClient, type GrpcClient } from "../fixtures/grpc-clients.js";
import {
  capturingDelivery,
  connectAuthClient,
  connectUserClient,
  startAuth,
  startUser,
  type RunningService,
} from "../fixtures/services.js";
import { createTestDatabase, startNats, type NatsInstance, type TestDatabase } from "../support/index.js";
import { startOnFreePort } from "../support/server-process.js";

// Another service signs in as itself, with an OAuth 2.0 client library this project did not write
// (oauth4webapi): it discovers the auth service's metadata (RFC 8414) from the issuer URL, obtains
// access tokens with client_secret_basic and client_secret_post (RFC 6749 section 4.4), and calls
// the user service over grpc-js with them. The user service grants each administrative RPC to one
// scope; disabling an account or rotating its secret stops new tokens at once.

const personPhone = "+447911123488";

describe("service accounts through an OAuth 2.0 client library", () => {
  let authDb: TestDatabase;
  let userDb: TestDatabase;
  let nats: NatsInstance;
  let auth: RunningService<AuthServiceHandle>;
  let user: RunningService<UserServiceHandle>;
  let grpcUser: GrpcClient;
  let issuer: URL;
  let as: oauth.AuthorizationServer;
  let wallet: ClientCredentials;
  let moderator: ClientCredentials;
  let personId: string;
  const delivery = capturingDelivery();
  // The services listen on 127.0.0.1 without TLS here; in production the issuer is an https URL.
  const insecure = { [oauth.allowInsecureRequests]: true };

  beforeAll(async () => {
    [authDb, userDb, nats] = await Promise.all([createTestDatabase(), createTestDatabase(), startNats()]);
    // The issuer is the auth service's own URL, so its port is chosen before it starts.
    let issuerText = "";
    await startOnFreePort(async (port) => {
      issuerText = `http://127.0.0.1:${port}`;
      auth = await startAuth(
        { AUTH_DATABASE_URL: authDb.url, NATS_URL: nats.url, AUTH_PORT: String(port), JWT_ISSUER: issuerText },
        { delivery },
      );
    });
    issuer = new URL(issuerText);
    user = await startUser({
      USER_DATABASE_URL: userDb.url,
      NATS_URL: nats.url,
      JWT_ISSUER: issuerText,
      AUTH_JWKS_URL: `${issuerText}/.well-known/jwks.json`,
    });
    grpcUser = grpcUserClient(user.address);

    const authClient = connectAuthClient(auth.baseUrl);
    const identifier = { identifier: personPhone, identifierType: IdentifierType.PHONE, purpose: OtpPurpose.LOGIN };
    await authClient.sendOtp({ ...identifier, deviceId: "phone-1" });
    const { verificationToken } = await authClient.verifyOtp({ ...identifier, code: delivery.lastCode(personPhone) });
    const login = await authClient.login({ verificationToken, deviceId: "phone-1" });
    personId = login.userId;
    await connectUserClient(user.baseUrl).createUser(
      { username: "wallet_owner", name: "Ada" },
      { headers: { authorization: `Bearer ${login.tokens!.accessToken}` } },
    );

    const accounts = auth.handle.domain.serviceAccounts;
    wallet = await accounts.create("wallet", ["users.read"], "ops@test");
    moderator = await accounts.create("moderation-bot", ["users.moderate"], "ops@test");
    as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { ...insecure, algorithm: "oauth2" }),
    );
  });
  afterAll(async () => {
    grpcUser?.close();
    await user?.close();
    await auth?.close();
    await nats?.stop();
    await Promise.all([authDb?.drop(), userDb?.drop()]);
  });

  async function tokenFor(account: ClientCredentials, method: "basic" | "post", scope?: string): Promise<string> {
    const client: oauth.Client = { client_id: account.clientId };
    const authentication =
      method === "basic" ? oauth.ClientSecretBasic(account.clientSecret) : oauth.ClientSecretPost(account.clientSecret);
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      authentication,
      new URLSearchParams(scope ? { scope } : {}),
      insecure,
    );
    const result = await oauth.processClientCredentialsResponse(as, client, response);
    expect(result.token_type).toBe("bearer");
    return result.access_token;
  }

  const lookUp = (token: string) => grpcUser.GetUserByPhone({ phone: personPhone }, bearer(token));
  const refusal = (call: Promise<unknown>) =>
    call.then(
      () => undefined,
      (error: unknown) => error,
    );

  it("discovers the authorization server metadata at the issuer's well-known URL", () => {
    expect(as).toMatchObject({
      issuer: issuer.href.replace(/\/$/, ""),
      token_endpoint: `${issuer.origin}/oauth2/token`,
      jwks_uri: `${issuer.origin}/.well-known/jwks.json`,
      grant_types_supported: ["client_credentials"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      scopes_supported: ["users.read", "users.moderate", "users.kyc"],
    });
  });

  it("obtains tokens with client_secret_basic and client_secret_post that GetUserByPhone accepts over grpc-js", async () => {
    for (const method of ["basic", "post"] as const) {
      const token = await tokenFor(wallet, method, "users.read");
      const found = await lookUp(token);
      expect((found.user as { id: string }).id, method).toBe(personId);
    }
    // No scope asked for: every scope the account holds.
    expect(((await lookUp(await tokenFor(wallet, "basic"))).user as { id: string }).id).toBe(personId);
  });

  it("refuses a token without users.read with PERMISSION_DENIED", async () => {
    const token = await tokenFor(moderator, "post");
    const refused = (await refusal(lookUp(token))) as grpc.ServiceError;
    expect(refused.code).toBe(grpc.status.PERMISSION_DENIED);
    // The library reports a scope the account lacks as the server's invalid_scope.
    const error = await refusal(tokenFor(moderator, "basic", "users.read"));
    expect(error).toBeInstanceOf(oauth.ResponseBodyError);
    expect((error as oauth.ResponseBodyError).error).toBe("invalid_scope");
  });

  it("answers invalid_client once the account is disabled, by Basic (401 with a challenge) and by post", async () => {
    const doomed = await auth.handle.domain.serviceAccounts.create("doomed", ["users.read"], "ops@test");
    const token = await tokenFor(doomed, "basic");
    await auth.handle.domain.serviceAccounts.disable("doomed", "ops@test");

    const byBasic = await refusal(tokenFor(doomed, "basic"));
    expect(byBasic).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    const challenge = byBasic as oauth.WWWAuthenticateChallengeError;
    expect([challenge.status, challenge.cause[0]?.scheme]).toEqual([401, "basic"]);
    expect(await challenge.response.json()).toMatchObject({ error: "invalid_client" });
    const byPost = await refusal(tokenFor(doomed, "post"));
    expect(byPost).toBeInstanceOf(oauth.ResponseBodyError);
    expect((byPost as oauth.ResponseBodyError).error).toBe("invalid_client");
    // A token issued before the account was disabled runs out by itself (5 minutes): no session to revoke.
    expect(((await lookUp(token)).user as { id: string }).id).toBe(personId);
  });

  it("stops a rotated-away secret at once and takes the new one", async () => {
    const rotated = await auth.handle.domain.serviceAccounts.rotateSecret("wallet", "ops@test");
    const old = await refusal(tokenFor(wallet, "post"));
    expect((old as oauth.ResponseBodyError).error).toBe("invalid_client");
    const token = await tokenFor(rotated, "post", "users.read");
    expect(((await lookUp(token)).user as { id: string }).id).toBe(personId);
  });
});
