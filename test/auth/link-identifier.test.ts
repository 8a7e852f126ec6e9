import { Code, ConnectError } from "@connectrpc/connect";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import type { UserServiceHandle } from "../../services/user/app.js";
import { bearer, grpc } from "../fixtures/grpc-clients.js";
import { connectUserClient, startUser, type RunningService } from "../fixtures/services.js";
import { createTestDatabase, waitFor, type TestDatabase } from "../support/index.js";
import {
  callHeaders,
  signIn,
  startAuthHarness,
  uniqueEmail,
  verificationToken,
  type AuthHarness,
} from "./auth-harness.js";

// LinkIdentifier: a signed-in person proves a second identifier with a PHONE/EMAIL_VERIFICATION
// code and it becomes theirs (one user per identifier, one phone and one email per user), announced
// as auth.identifier.linked, which the user service applies to the profile as verified.

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (!error) throw new Error("expected the call to fail");
  return error;
}
const reasonOf = (error: ConnectError) => error.findDetails(ErrorInfoSchema)[0]?.reason;

let phoneCounter = 0;
/** A valid US number of its own per call (+1 415 555 1xxx). */
function freshPhone(): string {
  phoneCounter += 1;
  return `+1415555${String(1000 + ((process.pid * 7 + phoneCounter) % 9000)).padStart(4, "0")}`;
}

describe("AuthService.LinkIdentifier", () => {
  let h: AuthHarness;
  const as = (accessToken: string, ip?: string) => ({ headers: callHeaders({ accessToken, ip }) });

  beforeAll(async () => {
    h = await startAuthHarness({ env: { TRUSTED_PROXIES: "127.0.0.1", OTP_IP_RATE_LIMIT_MAX_REQUESTS: "1000" } });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A PHONE_VERIFICATION token for `phone`, typed the way a person would. */
  async function phoneToken(phone: string, purpose = OtpPurpose.PHONE_VERIFICATION): Promise<string> {
    const identifier = { identifier: phone, identifierType: IdentifierType.PHONE };
    await h.client.sendOtp({ ...identifier, purpose, deviceId: "d" });
    const code = h.capture.lastCode(phone.replace(/[^+\d]/g, ""));
    return (await h.client.verifyOtp({ ...identifier, purpose, code })).verificationToken;
  }

  const identitiesOf = (userId: string) =>
    h.auth.handle.runtime.db
      .selectFrom("identities")
      .select(["identifier", "identifier_type"])
      .where("user_id", "=", userId)
      .orderBy("identifier")
      .execute();

  it("needs a bearer token", async () => {
    expect((await failure(h.client.linkIdentifier({ verificationToken: "mvt_x" }))).code).toBe(Code.Unauthenticated);
  });

  it("links a proven phone to the caller, announces it, and the phone then signs in to the same user with it in the token", async () => {
    const email = uniqueEmail("link");
    const me = await signIn(h, email, { deviceId: "my-phone" });
    const phone = freshPhone();
    const answer = await h.client.linkIdentifier(
      { verificationToken: await phoneToken(phone) },
      as(me.tokens!.accessToken, "198.51.100.60"),
    );
    expect(answer).toEqual(expect.objectContaining({ identifierType: IdentifierType.PHONE, identifier: phone }));
    expect(await identitiesOf(me.userId)).toEqual(
      [
        { identifier: email, identifier_type: "email" },
        { identifier: phone, identifier_type: "phone" },
      ].sort((a, b) => a.identifier.localeCompare(b.identifier)),
    );

    const linked = await waitFor(() => h.events.decoded("auth.identifier.linked").find((e) => e.userId === me.userId));
    expect(linked).toMatchObject({
      identifierType: IdentifierType.PHONE,
      identifier: phone,
      deviceId: "my-phone",
      ipAddress: "198.51.100.60",
    });

    const { tokens } = await h.client.refreshToken({ refreshToken: me.tokens!.refreshToken, deviceId: "my-phone" });
    const jwks = createRemoteJWKSet(new URL(`${h.auth.baseUrl}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(tokens!.accessToken, jwks);
    expect(payload).toMatchObject({ phone, phone_verified: true, email, email_verified: true });

    const byPhone = await h.client.login({
      verificationToken: await phoneToken(phone, OtpPurpose.LOGIN),
      deviceId: "my-phone",
    });
    expect(byPhone).toMatchObject({ userId: me.userId, newUser: false });
  });

  it("answers a grpc-js client", async () => {
    const me = await signIn(h, uniqueEmail("link"));
    const phone = freshPhone();
    const answer = await h.grpc.LinkIdentifier(
      { verification_token: await phoneToken(phone) },
      bearer(me.tokens!.accessToken),
    );
    expect(answer).toEqual({ identifier_type: "IDENTIFIER_TYPE_PHONE", identifier: phone });
  });

  it("succeeds without an announcement when the caller already holds the identifier", async () => {
    const email = uniqueEmail("link");
    const me = await signIn(h, email);
    const token = await verificationToken(h, email, OtpPurpose.EMAIL_VERIFICATION);
    await expect(
      h.client.linkIdentifier({ verificationToken: token }, as(me.tokens!.accessToken)),
    ).resolves.toMatchObject({ identifier: email });
    expect(await identitiesOf(me.userId)).toHaveLength(1);
    // Later events of the user are in; an announcement of the no-op link would have come before them.
    await h.client.logout({}, as(me.tokens!.accessToken));
    await waitFor(() => h.events.decoded("auth.logout").some((e) => e.userId === me.userId));
    expect(h.events.decoded("auth.identifier.linked").filter((e) => e.userId === me.userId)).toEqual([]);
  });

  it("refuses an identifier another account holds with ALREADY_EXISTS, leaving both accounts as they were", async () => {
    const otherEmail = uniqueEmail("taken");
    const other = await signIn(h, otherEmail);
    const me = await signIn(h, uniqueEmail("link"));
    const token = await verificationToken(h, otherEmail, OtpPurpose.EMAIL_VERIFICATION);
    const error = await failure(h.client.linkIdentifier({ verificationToken: token }, as(me.tokens!.accessToken)));
    expect(error.code).toBe(Code.AlreadyExists);
    expect(reasonOf(error)).toBe("IDENTIFIER_TAKEN");
    expect(await identitiesOf(other.userId)).toEqual([{ identifier: otherEmail, identifier_type: "email" }]);
    expect(await identitiesOf(me.userId)).toHaveLength(1);
  });

  it("refuses a second phone with FAILED_PRECONDITION: an account holds one phone and one email", async () => {
    const me = await signIn(h, uniqueEmail("link"));
    await h.client.linkIdentifier({ verificationToken: await phoneToken(freshPhone()) }, as(me.tokens!.accessToken));
    const error = await failure(
      h.client.linkIdentifier({ verificationToken: await phoneToken(freshPhone()) }, as(me.tokens!.accessToken)),
    );
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(reasonOf(error)).toBe("IDENTIFIER_TYPE_TAKEN");
    const grpcError = await h.grpc
      .LinkIdentifier({ verification_token: await phoneToken(freshPhone()) }, bearer(me.tokens!.accessToken))
      .catch((e: grpc.ServiceError) => e);
    expect((grpcError as grpc.ServiceError).code).toBe(grpc.status.FAILED_PRECONDITION);
  });

  it("refuses login, password-reset, garbled, used and expired tokens with PERMISSION_DENIED", async () => {
    const me = await signIn(h, uniqueEmail("link"));
    const phone = freshPhone();
    const used = await phoneToken(phone);
    await h.client.linkIdentifier({ verificationToken: used }, as(me.tokens!.accessToken));

    const someone = uniqueEmail("link");
    const tokens = [
      used,
      "mvt_garbled",
      await verificationToken(h, someone),
      await verificationToken(h, someone, OtpPurpose.PASSWORD_RESET),
    ];
    for (const token of tokens) {
      const error = await failure(h.client.linkIdentifier({ verificationToken: token }, as(me.tokens!.accessToken)));
      expect(error.code).toBe(Code.PermissionDenied);
      expect(reasonOf(error)).toBe("VERIFICATION_TOKEN_INVALID");
    }
    const late = await verificationToken(h, someone, OtpPurpose.EMAIL_VERIFICATION);
    h.clock.advance(5 * 60_000 + 1);
    const other = await signIn(h, uniqueEmail("link"));
    expect(
      (await failure(h.client.linkIdentifier({ verificationToken: late }, as(other.tokens!.accessToken)))).code,
    ).toBe(Code.PermissionDenied);
  });

  it("gives an identifier to exactly one of two accounts linking it at the same time", async () => {
    const contested = freshPhone();
    const [a, b] = await Promise.all([signIn(h, uniqueEmail("link")), signIn(h, uniqueEmail("link"))]);
    // Each person holds a token of their own for the same number (say, a shared family phone).
    const tokens = [await phoneToken(contested), await phoneToken(contested)];
    const results = await Promise.allSettled([
      h.client.linkIdentifier({ verificationToken: tokens[0]! }, as(a!.tokens!.accessToken)),
      h.client.linkIdentifier({ verificationToken: tokens[1]! }, as(b!.tokens!.accessToken)),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(ConnectError.from(refused.reason).code).toBe(Code.AlreadyExists);
    const holders = await h.auth.handle.runtime.db
      .selectFrom("identities")
      .select("user_id")
      .where("identifier", "=", contested)
      .execute();
    expect(holders).toHaveLength(1);
  });

  describe("with the user service consuming auth.identifier.linked", () => {
    let userDb: TestDatabase;
    let user: RunningService<UserServiceHandle>;

    beforeAll(async () => {
      userDb = await createTestDatabase();
      user = await startUser(
        {
          USER_DATABASE_URL: userDb.url,
          NATS_URL: h.nats.url,
          AUTH_JWKS_URL: `${h.auth.baseUrl}/.well-known/jwks.json`,
        },
        { clock: h.clock },
      );
      await Promise.all([user.handle.revocations?.ready, user.handle.consumers?.ready]);
    });
    afterAll(async () => {
      await user?.close();
      await userDb?.drop();
    });

    it("shows the linked phone as verified on the profile", async () => {
      const me = await signIn(h, uniqueEmail("link"));
      const users = connectUserClient(user.baseUrl);
      await users.createUser(
        { username: `link_${process.pid}_${phoneCounter}`, name: "Ada Link" },
        as(me.tokens!.accessToken),
      );
      const phone = freshPhone();
      await h.client.linkIdentifier({ verificationToken: await phoneToken(phone) }, as(me.tokens!.accessToken));
      const profile = await waitFor(async () => {
        const { user: current } = await users.getMe({}, as(me.tokens!.accessToken));
        return current?.phoneVerified ? current : undefined;
      });
      expect(profile).toMatchObject({ phone, phoneVerified: true, emailVerified: true });
    });
  });
});
