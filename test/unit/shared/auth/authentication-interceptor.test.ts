import { Code, ConnectError, type ConnectRouter, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../../../gen/google/rpc/error_details_pb.js";
import { UserService } from "../../../../gen/mintcoin/user/v1/user_pb.js";
import type { AccessTokenVerifier } from "../../../../services/shared/auth/access-token.js";
import { createAuthenticationInterceptor } from "../../../../services/shared/auth/authentication-interceptor.js";
import { principalKey, requirePrincipal } from "../../../../services/shared/auth/principal.js";
import { UnauthenticatedError } from "../../../../services/shared/errors/domain-errors.js";
import { aPrincipal, inMemoryTransport } from "../../support/in-memory-rpc.js";

// The authentication interceptor: a bearer token's caller in ctx.values, or UNAUTHENTICATED. The
// token check itself is replaced by a verifier that knows two tokens.

const alice = aPrincipal({ userId: "11111111-1111-4111-8111-111111111111", sessionId: "session-alive" });
const revokedBob = aPrincipal({ userId: "22222222-2222-4222-8222-222222222222", sessionId: "session-revoked" });
const verifier: AccessTokenVerifier = {
  async verify(token) {
    if (token === "alice.token") return alice;
    if (token === "bob.token") return revokedBob;
    throw new UnauthenticatedError("the access token is invalid", "ACCESS_TOKEN_INVALID");
  },
};

/** GetMe needs a caller; CheckUsernameAvailability is public. Both answer with who they saw. */
const routes = (router: ConnectRouter) =>
  router.service(UserService, {
    async getMe(_request, context) {
      return { user: { id: requirePrincipal(context).userId } };
    },
    async checkUsernameAvailability(_request, context) {
      return { available: true, reason: context.values.get(principalKey)?.userId ?? "anonymous" };
    },
  });
const authentication = createAuthenticationInterceptor({
  verifier,
  publicMethods: new Set(["mintcoin.user.v1.UserService/CheckUsernameAvailability"]),
  isSessionRevoked: (sessionId) => sessionId === "session-revoked",
});
const client = createClient(UserService, inMemoryTransport(routes, { interceptors: [authentication] }));

function clientWith(authorization?: string) {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  return {
    getMe: () => client.getMe({}, { headers }),
    checkUsername: () => client.checkUsernameAvailability({ username: "ada" }, { headers }),
  };
}

async function refusalOf(call: Promise<unknown>): Promise<{ code: Code; reason: string | undefined }> {
  try {
    await call;
  } catch (error) {
    const connectError = ConnectError.from(error);
    return { code: connectError.code, reason: connectError.findDetails(ErrorInfoSchema)[0]?.reason };
  }
  throw new Error("expected the call to be refused");
}

describe("authentication", () => {
  it("gives the handler the caller of a valid bearer token", async () => {
    expect((await clientWith("Bearer alice.token").getMe()).user?.id).toBe(alice.userId);
  });

  it("accepts the scheme in any case", async () => {
    expect((await clientWith("bearer alice.token").getMe()).user?.id).toBe(alice.userId);
  });

  it("refuses a call without a token with ACCESS_TOKEN_MISSING", async () => {
    expect(await refusalOf(clientWith().getMe())).toEqual({
      code: Code.Unauthenticated,
      reason: "ACCESS_TOKEN_MISSING",
    });
  });

  it.each(["alice.token", "Basic YWxpY2U6c2VjcmV0", "Bearer ", "Bearer alice token"])(
    "refuses an authorization header %j that is not `Bearer <token>`",
    async (header) => {
      expect(await refusalOf(clientWith(header).getMe())).toEqual({
        code: Code.Unauthenticated,
        reason: "ACCESS_TOKEN_INVALID",
      });
    },
  );

  it("refuses a token the verifier does not accept", async () => {
    expect(await refusalOf(clientWith("Bearer forged.token").getMe())).toMatchObject({
      code: Code.Unauthenticated,
      reason: "ACCESS_TOKEN_INVALID",
    });
  });

  it("refuses a valid token whose session was signed out, before the token expires", async () => {
    expect(await refusalOf(clientWith("Bearer bob.token").getMe())).toEqual({
      code: Code.Unauthenticated,
      reason: "SESSION_REVOKED",
    });
  });
});

describe("a public method", () => {
  it("is served without a token", async () => {
    expect((await clientWith().checkUsername()).reason).toBe("anonymous");
  });

  it("still sees the caller of a valid token", async () => {
    expect((await clientWith("Bearer alice.token").checkUsername()).reason).toBe(alice.userId);
  });

  it("ignores a bad or revoked token rather than refusing the call", async () => {
    expect((await clientWith("Bearer forged.token").checkUsername()).reason).toBe("anonymous");
    expect((await clientWith("Bearer bob.token").checkUsername()).reason).toBe("anonymous");
    expect((await clientWith("Basic abc").checkUsername()).reason).toBe("anonymous");
  });
});
