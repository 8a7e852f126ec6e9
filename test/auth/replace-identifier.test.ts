import { Code, ConnectError } from "@connectrpc/connect";
import { decodeJwt } from "jose";
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

// ReplaceIdentifier: a recently authenticated person swaps their phone or email for a newly proven
// one. The old identifier is released (it signs in to no account any more), auth.identifier.replaced
// is announced, and the user service's profile follows.

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
/** A valid US number of its own per call (+1 415 555 3xxx). */
function freshPhone(): string {
  phoneCounter += 1;
  return `+1415555${String(3000 + ((process.pid * 11 + phoneCounter) % 7000)).padStart(4, "0")}`;
}

describe("AuthService.ReplaceIdentifier, with the user service following", () => {
  let h: AuthHarness;
  let userDb: TestDatabase;
  let user: RunningService<UserServiceHandle>;
  const as = (accessToken: string, ip?: string) => ({ headers: callHeaders({ accessToken, ip }) });

  beforeAll(async () => {
    h = await startAuthHarness({ env: { TRUSTED_PROXIES: "127.0.0.1", OTP_IP_RATE_LIMIT_MAX_REQUESTS: "1000" } });
    userDb = await createTestDatabase();
    user = await startUser(
      { USER_DATABASE_URL: userDb.url, NATS_URL: h.nats.url, AUTH_JWKS_URL: `${h.auth.baseUrl}/.well-known/jwks.json` },
      { clock: h.clock },
    );
    await Promise.all([user.handle.revocations?.ready, user.handle.consumers?.ready]);
  });
  afterAll(async () => {
    await user?.close();
    await userDb?.drop();
    await h?.close();
  });

  async function phoneToken(phone: string, purpose = OtpPurpose.PHONE_VERIFICATION): Promise<string> {
    const identifier = { identifier: phone, identifierType: IdentifierType.PHONE };
    await h.client.sendOtp({ ...identifier, purpose, deviceId: "d" });
    return (await h.client.verifyOtp({ ...identifier, purpose, code: h.capture.lastCode(phone) })).verificationToken;
  }
  const identitiesOf = (userId: string) =>
    h.auth.handle.runtime.db
      .selectFrom("identities")
      .select(["identifier", "identifier_type"])
      .where("user_id", "=", userId)
      .orderBy("identifier_type")
      .execute();

  /** A signed-up person: signed in by email, with a profile. */
  async function person() {
    const email = uniqueEmail("replace");
    const login = await signIn(h, email, { deviceId: "phone" });
    await connectUserClient(user.baseUrl).createUser(
      { username: `rep_${process.pid}_${Math.random().toString(36).slice(2, 8)}`, name: "Ada Replace" },
      as(login.tokens!.accessToken),
    );
    return { email, login };
  }

  const profileOf = (accessToken: string, ready: (u: { email: string; phone: string }) => boolean) =>
    waitFor(async () => {
      const { user: current } = await connectUserClient(user.baseUrl).getMe({}, as(accessToken));
      return current && ready(current) ? current : undefined;
    });

  it("replaces the email: the old one is released, the event announced, the token and the profile follow", async () => {
    const { email, login } = await person();
    // The user service keeps the newest identifier of each type by the time of its event: a person
    // replaces an email at least a moment after registering it.
    h.clock.advance(1_000);
    const newEmail = uniqueEmail("renamed");
    const answer = await h.client.replaceIdentifier(
      { verificationToken: await verificationToken(h, newEmail, OtpPurpose.EMAIL_VERIFICATION) },
      as(login.tokens!.accessToken, "198.51.100.80"),
    );
    expect(answer).toMatchObject({
      identifierType: IdentifierType.EMAIL,
      identifier: newEmail,
      previousIdentifier: email,
    });
    expect(await identitiesOf(login.userId)).toEqual([{ identifier: newEmail, identifier_type: "email" }]);

    const event = await waitFor(() =>
      h.events.decoded("auth.identifier.replaced").find((e) => e.userId === login.userId),
    );
    expect(event).toMatchObject({
      identifierType: IdentifierType.EMAIL,
      identifier: newEmail,
      previousIdentifier: email,
      deviceId: "phone",
      ipAddress: "198.51.100.80",
    });

    // The session is kept and its next token carries the new email.
    const { tokens } = await h.client.refreshToken({ refreshToken: login.tokens!.refreshToken, deviceId: "phone" });
    expect(decodeJwt(tokens!.accessToken)).toMatchObject({ email: newEmail, email_verified: true });
    const profile = await profileOf(tokens!.accessToken, (u) => u.email === newEmail);
    expect(profile).toMatchObject({ email: newEmail, emailVerified: true });

    // Released: the old email signs in to a new account, not to this one.
    const reused = await signIn(h, email, { deviceId: "someone-else" });
    expect(reused).toMatchObject({ newUser: true });
    expect(reused.userId).not.toBe(login.userId);
    // And it no longer steps up this account.
    const stale = await failure(
      h.client.stepUp(
        { proof: { case: "verificationToken", value: await verificationToken(h, email, OtpPurpose.STEP_UP) } },
        as(tokens!.accessToken),
      ),
    );
    expect(reasonOf(stale)).toBe("VERIFICATION_TOKEN_INVALID");
  });

  it("replaces a linked phone over grpc-js, and the profile shows the new number verified", async () => {
    const { login } = await person();
    const oldPhone = freshPhone();
    await h.client.linkIdentifier({ verificationToken: await phoneToken(oldPhone) }, as(login.tokens!.accessToken));
    const newPhone = freshPhone();
    h.clock.advance(1_000);
    const answer = await h.grpc.ReplaceIdentifier(
      { verification_token: await phoneToken(newPhone) },
      bearer(login.tokens!.accessToken),
    );
    expect(answer).toEqual({
      identifier_type: "IDENTIFIER_TYPE_PHONE",
      identifier: newPhone,
      previous_identifier: oldPhone,
    });
    const profile = await profileOf(login.tokens!.accessToken, (u) => u.phone === newPhone);
    expect(profile).toMatchObject({ phone: newPhone, phoneVerified: true, emailVerified: true });

    const released = await h.client.login({
      verificationToken: await phoneToken(oldPhone, OtpPurpose.LOGIN),
      deviceId: "x",
    });
    expect(released.newUser).toBe(true);
  });

  it("needs a recent authentication, checked before the token is used", async () => {
    const { email, login } = await person();
    h.clock.advance(5 * 60_000 + 1_000);
    const newEmail = uniqueEmail("renamed");
    const token = await verificationToken(h, newEmail, OtpPurpose.EMAIL_VERIFICATION);
    const error = await failure(
      h.client.replaceIdentifier({ verificationToken: token }, as(login.tokens!.accessToken)),
    );
    expect(error.code).toBe(Code.PermissionDenied);
    expect(reasonOf(error)).toBe("STEP_UP_REQUIRED");
    expect(await identitiesOf(login.userId)).toEqual([{ identifier: email, identifier_type: "email" }]);

    const stepped = await h.client.stepUp(
      { proof: { case: "verificationToken", value: await verificationToken(h, email, OtpPurpose.STEP_UP) } },
      as(login.tokens!.accessToken),
    );
    await expect(
      h.client.replaceIdentifier({ verificationToken: token }, as(stepped.accessToken)),
    ).resolves.toMatchObject({ identifier: newEmail, previousIdentifier: email });
  });

  it("refuses an identifier another account holds, keeping both as they were", async () => {
    const other = await person();
    const me = await person();
    const error = await failure(
      h.client.replaceIdentifier(
        { verificationToken: await verificationToken(h, other.email, OtpPurpose.EMAIL_VERIFICATION) },
        as(me.login.tokens!.accessToken),
      ),
    );
    expect(error.code).toBe(Code.AlreadyExists);
    expect(reasonOf(error)).toBe("IDENTIFIER_TAKEN");
    expect(await identitiesOf(me.login.userId)).toEqual([{ identifier: me.email, identifier_type: "email" }]);
    expect(await identitiesOf(other.login.userId)).toEqual([{ identifier: other.email, identifier_type: "email" }]);
  });

  it("refuses to replace a phone the account does not have (FAILED_PRECONDITION), and changes nothing for the same identifier", async () => {
    const { email, login } = await person();
    const error = await failure(
      h.client.replaceIdentifier({ verificationToken: await phoneToken(freshPhone()) }, as(login.tokens!.accessToken)),
    );
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(reasonOf(error)).toBe("IDENTIFIER_NOT_HELD");

    const same = await h.client.replaceIdentifier(
      { verificationToken: await verificationToken(h, email, OtpPurpose.EMAIL_VERIFICATION) },
      as(login.tokens!.accessToken),
    );
    expect(same).toMatchObject({ identifier: email, previousIdentifier: email });
    await h.client.logout({}, as(login.tokens!.accessToken));
    await waitFor(() => h.events.decoded("auth.logout").some((e) => e.userId === login.userId));
    expect(h.events.decoded("auth.identifier.replaced").filter((e) => e.userId === login.userId)).toEqual([]);
  });

  it("refuses login, step-up and garbled tokens with PERMISSION_DENIED", async () => {
    const { login } = await person();
    const someone = uniqueEmail("replace");
    for (const token of [
      await verificationToken(h, someone),
      await verificationToken(h, someone, OtpPurpose.STEP_UP),
      "mvt_garbled",
    ]) {
      const error = await failure(
        h.client.replaceIdentifier({ verificationToken: token }, as(login.tokens!.accessToken)),
      );
      expect(error.code).toBe(Code.PermissionDenied);
      expect(reasonOf(error)).toBe("VERIFICATION_TOKEN_INVALID");
    }
    const grpcError = await h.grpc
      .ReplaceIdentifier({ verification_token: "mvt_garbled" })
      .catch((e: grpc.ServiceError) => e);
    expect((grpcError as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
  });
});
