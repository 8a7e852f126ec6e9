import { generateKeyPairSync, randomUUID } from "node:crypto";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { exportJWK, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OtpPurpose, type AuthService } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import type { UserService } from "../../gen/mintcoin/user/v1/user_pb.js";
import { waitFor } from "../support/index.js";
import { capturingDelivery, connectAuthClient, connectUserClient } from "../fixtures/services.js";
import {
  claimsOf,
  createSigningKey,
  headerOf,
  signEs256,
  signHs256,
  unsigned,
  withHeader,
  withPayload,
  type SigningKey,
} from "./helpers/forged-tokens.js";
import { bearer, signIn, signUp, verifyIdentifier, type SignedIn } from "./helpers/sign-in.js";
import { startStack, type Stack } from "./helpers/stack.js";

// Every way a bearer token can be forged, stretched or misused, presented to both services: the auth
// service (an authenticated RPC and ValidateToken) and the user service (which verifies locally with
// the auth service's JWKS). The auth service signs with a key this test generated, so tokens signed
// with the real key but carrying bad claims test the claim checks and not only the signature.

const now = () => Math.floor(Date.now() / 1000);

interface Context {
  key: SigningKey;
  attacker: SigningKey;
  session: SignedIn;
  other: SignedIn;
  claims: JWTPayload;
  header: Record<string, unknown>;
  verificationToken: string;
}

/** A service account's claims (RFC 9068) with the real session's times: what the token endpoint would sign. */
const serviceClaims = (c: Context): JWTPayload => ({
  iss: c.claims.iss,
  aud: c.claims.aud,
  iat: c.claims.iat,
  exp: c.claims.exp,
  jti: randomUUID(),
  sub: "svc_0123456789abcdef0123456789abcdef",
  client_id: "svc_0123456789abcdef0123456789abcdef",
  scope: "users.read users.moderate users.kyc",
  roles: ["service"],
  typ: "access",
});

/** Each attack builds its token from the real session's claims. */
const attacks: Array<[string, (c: Context) => Promise<string> | string]> = [
  ["alg none", (c) => unsigned("none", c.header, c.claims)],
  ["alg None", (c) => unsigned("None", c.header, c.claims)],
  ["alg NONE", (c) => unsigned("NONE", c.header, c.claims)],
  [
    "alg none with the real signature kept",
    (c) => `${unsigned("none", c.header, c.claims)}${c.session.accessToken.split(".")[2]}`,
  ],
  [
    "HS256 keyed with the public key's PEM (key confusion)",
    (c) => signHs256(Buffer.from(c.key.publicPem), c.header, c.claims),
  ],
  [
    "HS256 keyed with the public JWK's JSON",
    (c) => signHs256(Buffer.from(JSON.stringify(c.key.publicJwk)), c.header, c.claims),
  ],
  [
    "HS256 keyed with the public key's x coordinate",
    (c) => signHs256(Buffer.from(c.key.publicJwk.x!, "base64url"), c.header, c.claims),
  ],
  [
    "HS256 with an empty key and kid /dev/null",
    (c) => signHs256(new Uint8Array(32), { ...c.header, kid: "../../../../../../dev/null" }, c.claims),
  ],
  [
    "HS256 with kid holding SQL",
    (c) => signHs256(Buffer.from("secret"), { ...c.header, kid: "x' UNION SELECT 'secret' --" }, c.claims),
  ],
  [
    "another key under an unknown kid",
    (c) => signEs256(c.attacker.privateKey, { ...c.header, kid: c.attacker.kid }, c.claims),
  ],
  ["another key under the real kid", (c) => signEs256(c.attacker.privateKey, c.header, c.claims)],
  [
    "another key embedded in the header (jwk)",
    (c) => signEs256(c.attacker.privateKey, { typ: "at+jwt", jwk: c.attacker.publicJwk }, c.claims),
  ],
  [
    "another key behind a jku URL",
    (c) =>
      signEs256(
        c.attacker.privateKey,
        { typ: "at+jwt", kid: c.attacker.kid, jku: "http://127.0.0.1:9/jwks.json" },
        c.claims,
      ),
  ],
  [
    "an Ed25519 key of the attacker's under the real kid",
    async (c) => {
      const { privateKey } = generateKeyPairSync("ed25519");
      const { SignJWT } = await import("jose");
      return new SignJWT(c.claims).setProtectedHeader({ alg: "EdDSA", kid: c.key.kid, typ: "at+jwt" }).sign(privateKey);
    },
  ],
  [
    "the real key, another audience",
    (c) => signEs256(c.key.privateKey, c.header, { ...c.claims, aud: "another-service" }),
  ],
  [
    "the real key, an audience list without ours",
    (c) => signEs256(c.key.privateKey, c.header, { ...c.claims, aud: ["a", "b"] }),
  ],
  [
    "the real key, another issuer",
    (c) => signEs256(c.key.privateKey, c.header, { ...c.claims, iss: "https://evil.example" }),
  ],
  [
    "the real key, expired an hour ago",
    (c) => signEs256(c.key.privateKey, c.header, { ...c.claims, iat: now() - 7_200, exp: now() - 3_600 }),
  ],
  [
    "the real key, expired a minute ago (past the clock tolerance)",
    (c) => signEs256(c.key.privateKey, c.header, { ...c.claims, exp: now() - 60 }),
  ],
  [
    "the real key, not valid before an hour from now (nbf)",
    (c) => signEs256(c.key.privateKey, c.header, { ...c.claims, nbf: now() + 3_600 }),
  ],
  [
    "the real key, issued an hour in the future (iat)",
    (c) => signEs256(c.key.privateKey, c.header, { ...c.claims, iat: now() + 3_600, exp: now() + 4_000 }),
  ],
  ["the real key, no sid", (c) => signEs256(c.key.privateKey, c.header, { ...c.claims, sid: undefined })],
  ["the real key, no exp", (c) => signEs256(c.key.privateKey, c.header, { ...c.claims, exp: undefined })],
  ["the real key, roles as a string", (c) => signEs256(c.key.privateKey, c.header, { ...c.claims, roles: "admin" })],
  ["the real key, typ claim refresh", (c) => signEs256(c.key.privateKey, c.header, { ...c.claims, typ: "refresh" })],
  [
    "the real key, header typ JWT instead of at+jwt",
    (c) => signEs256(c.key.privateKey, { ...c.header, typ: "JWT" }, c.claims),
  ],
  [
    "the real key, a person's claims plus client_id and every scope",
    (c) =>
      signEs256(c.key.privateKey, c.header, {
        ...c.claims,
        client_id: c.claims.sub,
        scope: "users.read users.moderate users.kyc",
      }),
  ],
  [
    "the real key, a service token whose client_id is not its subject",
    (c) => signEs256(c.key.privateKey, c.header, { ...serviceClaims(c), client_id: "svc_other" }),
  ],
  [
    "the real key, a service token claiming the admin role too",
    (c) => signEs256(c.key.privateKey, c.header, { ...serviceClaims(c), roles: ["service", "admin"] }),
  ],
  [
    "the real key, a service token without a scope",
    (c) => signEs256(c.key.privateKey, c.header, { ...serviceClaims(c), scope: undefined }),
  ],
  [
    "tampered payload: another user's id",
    (c) => withPayload(c.session.accessToken, { ...c.claims, sub: c.other.userId }),
  ],
  [
    "tampered payload: the admin role added",
    (c) => withPayload(c.session.accessToken, { ...c.claims, roles: ["user", "admin"] }),
  ],
  [
    "tampered payload: expiry pushed a day out",
    (c) => withPayload(c.session.accessToken, { ...c.claims, exp: now() + 86_400 }),
  ],
  [
    "tampered header: alg switched to EdDSA",
    (c) => withHeader(c.session.accessToken, { ...headerOf(c.session.accessToken), alg: "EdDSA" }),
  ],
  ["signature removed", (c) => `${c.session.accessToken.split(".").slice(0, 2).join(".")}.`],
  [
    "another token's signature",
    (c) => `${c.session.accessToken.split(".").slice(0, 2).join(".")}.${c.other.accessToken.split(".")[2]}`,
  ],
  ["a fourth segment appended", (c) => `${c.session.accessToken}.e30`],
  ["a refresh token used as an access token", (c) => c.session.refreshToken],
  ["a verification token used as an access token", (c) => c.verificationToken],
  [
    "a 6 KB token",
    (c) => `${c.session.accessToken.split(".")[0]}.${"A".repeat(6_000)}.${c.session.accessToken.split(".")[2]}`,
  ],
];

describe("tokens: forged, stretched and misused tokens are refused by both services", () => {
  let stack: Stack;
  let auth: Client<typeof AuthService>;
  let users: Client<typeof UserService>;
  const delivery = capturingDelivery();
  const context = {} as Context;

  beforeAll(async () => {
    const [key, attacker] = await Promise.all([createSigningKey(), createSigningKey()]);
    stack = await startStack({ authEnv: { JWT_PRIVATE_KEY: key.pem }, authOverrides: { delivery } });
    auth = connectAuthClient(stack.auth.baseUrl);
    users = connectUserClient(stack.user.baseUrl);
    const session = await signUp(auth, users, delivery, "token-holder@example.com", "token_holder");
    const other = await signUp(auth, users, delivery, "other-holder@example.com", "other_holder");
    Object.assign(context, {
      key,
      attacker,
      session,
      other,
      claims: claimsOf(session.accessToken),
      header: { kid: key.kid, typ: "at+jwt" },
      verificationToken: await verifyIdentifier(auth, delivery, "token-holder@example.com", OtpPurpose.LOGIN),
    });
    expect(headerOf(session.accessToken).kid).toBe(key.kid);
  });

  afterAll(async () => {
    await stack?.close();
  });

  async function authAnswer(token: string): Promise<Code | "ok"> {
    return auth.listSessions({}, bearer(token)).then(
      () => "ok" as const,
      (error: unknown) => ConnectError.from(error).code,
    );
  }

  async function userAnswer(token: string): Promise<Code | "ok"> {
    return users.getMe({}, bearer(token)).then(
      () => "ok" as const,
      (error: unknown) => ConnectError.from(error).code,
    );
  }

  /** ValidateToken's verdict; a token over its 4096-byte limit is refused as INVALID_ARGUMENT instead. */
  async function validates(token: string): Promise<boolean> {
    try {
      return (await auth.validateToken({ accessToken: token })).valid;
    } catch (error) {
      if (ConnectError.from(error).code === Code.InvalidArgument) return false;
      throw error;
    }
  }

  it("accepts the real token, and a token signed here with the real key and the real claims (the controls)", async () => {
    const forged = await signEs256(context.key.privateKey, context.header, { ...context.claims, jti: randomUUID() });
    for (const token of [context.session.accessToken, forged]) {
      expect(await authAnswer(token)).toBe("ok");
      expect(await userAnswer(token)).toBe("ok");
      expect(await validates(token)).toBe(true);
    }
  });

  it("accepts a service token signed with the real key, which ValidateToken confirms and a person's RPCs refuse as PERMISSION_DENIED (the control)", async () => {
    const token = await signEs256(context.key.privateKey, context.header, serviceClaims(context));
    expect(await validates(token)).toBe(true);
    expect(await authAnswer(token)).toBe(Code.PermissionDenied);
    expect(await userAnswer(token)).toBe(Code.PermissionDenied);
  });

  for (const [name, build] of attacks) {
    it(`refuses ${name}`, async () => {
      const token = await build(context);
      expect(await authAnswer(token), "AuthService.ListSessions").toBe(Code.Unauthenticated);
      expect(await userAnswer(token), "UserService.GetMe").toBe(Code.Unauthenticated);
      expect(await validates(token), "AuthService.ValidateToken").toBe(false);
    });
  }

  it("refuses a valid token of a revoked session: at once in the auth service, within a second or so in the user service", async () => {
    const session = await signIn(auth, delivery, "token-holder@example.com", "device-to-revoke");
    expect(await userAnswer(session.accessToken)).toBe("ok");
    await auth.logout({}, bearer(session.accessToken));
    expect(await authAnswer(session.accessToken)).toBe(Code.Unauthenticated);
    expect(await validates(session.accessToken)).toBe(false);
    // Promised within a second (it learns revocations from auth.session.revoked); 2 s of slack for a loaded CI machine.
    await waitFor(async () => (await userAnswer(session.accessToken)) === Code.Unauthenticated, {
      timeoutMs: 2_000,
      intervalMs: 20,
    });
    // The other sessions of the same user are untouched.
    expect(await userAnswer(context.session.accessToken)).toBe("ok");
  });

  it("refuses an access token presented as a refresh token", async () => {
    const error = await auth
      .refreshToken({ refreshToken: context.session.accessToken, deviceId: context.session.deviceId })
      .catch((e: unknown) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Unauthenticated);
    // ...and the session it belongs to still works (a wrong credential is not a reuse).
    expect(await authAnswer(context.session.accessToken)).toBe("ok");
  });

  it("keeps serving the real token after all the attacks (no lockout of the victim)", async () => {
    expect(await authAnswer(context.session.accessToken)).toBe("ok");
    expect(await userAnswer(context.session.accessToken)).toBe("ok");
    const jwk = await exportJWK(context.attacker.privateKey);
    expect(jwk.d).toBeDefined(); // the attacker's key really was a private key: the refusals above were not vacuous
  });
});
