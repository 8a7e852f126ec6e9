import { Code, ConnectError, type CallOptions } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { LifecycleState } from "../../gen/mintcoin/user/v1/user_pb.js";
import type { AuthServiceHandle } from "../../services/auth/app.js";
import type { UserServiceHandle } from "../../services/user/app.js";
import { collectEvents, type EventCollector } from "../fixtures/events.js";
import { bearer, grpcUserClient, type GrpcClient } from "../fixtures/grpc-clients.js";
import {
  capturingDelivery,
  connectAuthClient,
  connectUserClient,
  startAuth,
  startUser,
  type RunningService,
} from "../fixtures/services.js";
import {
  createTestDatabase,
  refusedWithin,
  startNats,
  waitFor,
  type NatsInstance,
  type TestDatabase,
} from "../support/index.js";

// The whole sign-up through both real services, each on its own database, joined only by the
// JWKS and JetStream: SendOtp, VerifyOtp, Login (new user), CreateUser with the access token,
// GetMe, UpdateMe, UpdateUsername, Logout (then GetMe refused within a second); the first administrator, made by ADMIN_IDENTIFIERS; and a
// session the auth service revokes, refused by the user service within a second.

const adminPhone = "+447911123456";

describe("sign-up flow across AuthService and UserService", () => {
  let authDb: TestDatabase;
  let userDb: TestDatabase;
  let nats: NatsInstance;
  let auth: RunningService<AuthServiceHandle>;
  let user: RunningService<UserServiceHandle>;
  let grpcUser: GrpcClient;
  let events: EventCollector;
  const delivery = capturingDelivery();

  beforeAll(async () => {
    [authDb, userDb, nats] = await Promise.all([createTestDatabase(), createTestDatabase(), startNats()]);
    auth = await startAuth(
      {
        AUTH_DATABASE_URL: authDb.url,
        NATS_URL: nats.url,
        ADMIN_IDENTIFIERS: adminPhone,
        REFRESH_TOKEN_REUSE_GRACE: "0s",
      },
      { delivery },
    );
    user = await startUser({
      USER_DATABASE_URL: userDb.url,
      NATS_URL: nats.url,
      AUTH_JWKS_URL: `${auth.baseUrl}/.well-known/jwks.json`,
    });
    await Promise.all([user.handle.revocations?.ready, user.handle.consumers?.ready]);
    grpcUser = grpcUserClient(user.address);
    events = await collectEvents(nats.url);
  });
  afterAll(async () => {
    grpcUser?.close();
    await events?.close();
    await user?.close();
    await auth?.close();
    await nats?.stop();
    await Promise.all([authDb?.drop(), userDb?.drop()]);
  });

  /** SendOtp, VerifyOtp and Login for a phone number typed as a person would. */
  async function signIn(phone: string, deviceId: string) {
    const authClient = connectAuthClient(auth.baseUrl);
    const identifier = { identifier: phone, identifierType: IdentifierType.PHONE };
    await authClient.sendOtp({ ...identifier, purpose: OtpPurpose.LOGIN, deviceId });
    const normalised = delivery.sent.at(-1)!.identifier;
    const { verificationToken } = await authClient.verifyOtp({
      ...identifier,
      purpose: OtpPurpose.LOGIN,
      code: delivery.lastCode(normalised),
    });
    const login = await authClient.login({ verificationToken, deviceId, deviceName: "Test phone" });
    return { ...login, as: { headers: { authorization: `Bearer ${login.tokens!.accessToken}` } } as CallOptions };
  }

  it("signs up a new person end to end: the profile's phone is the one proven with the code", async () => {
    const login = await signIn("+44 7911 123457", "phone-1");
    expect(login.newUser).toBe(true);
    const client = connectUserClient(user.baseUrl);

    const missing = await client.getMe({}, login.as).catch((e: unknown) => ConnectError.from(e));
    expect((missing as ConnectError).code).toBe(Code.NotFound);

    const { user: created } = await client.createUser(
      { username: "Grace.H", name: "Grace Hopper", registrationSource: "ios" },
      login.as,
    );
    expect(created!.id).toBe(login.userId);
    expect(created!.phone).toBe("+447911123457");
    expect(created!.phoneVerified).toBe(true);
    expect(created!.registrationDeviceId).toBe("phone-1");

    const { user: me } = await client.getMe({}, login.as);
    expect(me!.username).toBe("Grace.H");

    const { user: updated } = await client.updateMe({ bio: "COBOL", location: "Arlington" }, login.as);
    expect(updated!.lifecycleState).toBe(LifecycleState.ONBOARDING);
    const { user: renamed } = await client.updateUsername({ username: "grace_hopper" }, login.as);
    expect(renamed!.username).toBe("grace_hopper");
    expect(renamed!.referralCode).toBe(created!.referralCode);

    // The auth service announced the registration; the user service announced the profile.
    await waitFor(() => events.decoded("auth.user.registered").some((e) => e.userId === login.userId));
    await waitFor(() => events.decoded("user.profile.created").some((e) => e.userId === login.userId));
    const updates = await waitFor(() => {
      const mine = events.decoded("user.profile.updated").filter((e) => e.userId === login.userId);
      return mine.length >= 2 ? mine : undefined;
    });
    expect(updates!.map((e) => e.changedFields[0])).toEqual(["bio", "username"]);

    // Logout: the access token still has minutes to live, but the user service refuses it
    // within a second, having learnt the revocation from auth.session.revoked.
    await connectAuthClient(auth.baseUrl).logout({}, login.as);
    const { refusal: refused, lastAcceptedStartMs } = await refusedWithin(performance.now(), async () => {
      const error = await client.getMe({}, login.as).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      return error?.code === Code.Unauthenticated ? error : undefined;
    });
    expect(lastAcceptedStartMs).toBeLessThan(1_000);
    expect(refused.rawMessage).toContain("signed out");
  });

  it("lets a returning person in with the same user id, and the token works over grpc-js too", async () => {
    const first = await signIn("+447911123458", "phone-2");
    await connectUserClient(user.baseUrl).createUser({ username: "returning_one", name: "Returning" }, first.as);
    const again = await signIn("+447911123458", "phone-2");
    expect(again.newUser).toBe(false);
    expect(again.userId).toBe(first.userId);
    const response = await grpcUser.GetMe({}, bearer(again.tokens!.accessToken));
    expect((response.user as Record<string, unknown>).username).toBe("returning_one");
  });

  it("makes the first administrator from ADMIN_IDENTIFIERS: its token carries the admin role", async () => {
    const admin = await signIn(adminPhone, "admin-laptop");
    const client = connectUserClient(user.baseUrl);
    await client.createUser({ username: "first_operator", name: "Operator" }, admin.as);
    const person = await signIn("+447911123459", "phone-3");
    await client.createUser({ username: "ordinary_person", name: "Person" }, person.as);

    const { user: found } = await client.getUserByPhone({ phone: "+44 7911 123459" }, admin.as);
    expect(found!.id).toBe(person.userId);
    const denied = await client
      .getUserByPhone({ phone: adminPhone }, person.as)
      .catch((e: unknown) => ConnectError.from(e));
    expect((denied as ConnectError).code).toBe(Code.PermissionDenied);
    const { user: promoted } = await client.updateLifecycleState(
      { userId: person.userId, state: LifecycleState.ACTIVE },
      admin.as,
    );
    expect(promoted!.lifecycleState).toBe(LifecycleState.ACTIVE);
  });

  it("refuses the tokens of a session the auth service revoked (refresh token reuse) within a second", async () => {
    const login = await signIn("+447911123460", "phone-4");
    const client = connectUserClient(user.baseUrl);
    await client.createUser({ username: "reused_refresh", name: "Reuse" }, login.as);
    const authClient = connectAuthClient(auth.baseUrl);
    const rotated = await authClient.refreshToken({ refreshToken: login.tokens!.refreshToken, deviceId: "phone-4" });
    const fresh: CallOptions = { headers: { authorization: `Bearer ${rotated.tokens!.accessToken}` } };
    await client.getMe({}, fresh);
    // The rotated-away refresh token comes back: the session is presumed stolen and revoked.
    await authClient
      .refreshToken({ refreshToken: login.tokens!.refreshToken, deviceId: "phone-4" })
      .catch(() => undefined);
    const reuse = await refusedWithin(performance.now(), async () => {
      const refused = await client.getMe({}, fresh).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      return refused?.code === Code.Unauthenticated;
    });
    expect(reuse.lastAcceptedStartMs).toBeLessThan(1_000);
    const revoked = await waitFor(() =>
      events.decoded("auth.session.revoked").find((e) => e.sessionId === login.sessionId),
    );
    expect(revoked!.reason).toBe("refresh_token_reuse");
  });
});
