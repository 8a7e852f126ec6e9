import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { AuthService } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { LifecycleState, type UserService } from "../../gen/mintcoin/user/v1/user_pb.js";
import type { AuthServiceHandle } from "../../services/auth/app.js";
import type { UserServiceHandle } from "../../services/user/app.js";
import { sampleValue, scrape } from "../fixtures/metrics.js";
import { capturingDelivery, connectAuthClient, connectUserClient, type RunningService } from "../fixtures/services.js";
import { refusedWithin, waitFor } from "../support/index.js";
import { bearer, signIn, signUp, type SignedIn } from "./helpers/sign-in.js";
import { startStack, type Stack } from "./helpers/stack.js";
import { recordSurvival } from "./helpers/survival-log.js";

// The user service verifies tokens locally and learns revocations from auth.session.revoked. While
// that feed is not current (NATS down) it must not accept what it cannot check: it asks the auth
// service (ValidateToken), checks suspensions and bans in its own database, and answers UNAVAILABLE
// when the auth service cannot be asked either. Real services, clients, NATS and Postgres.

const admin = "outage-admin@example.com";

const metricsPort = (service: RunningService<AuthServiceHandle | UserServiceHandle>) =>
  service.handle.runtime.metricsServer!.port;

async function refusalOf(call: Promise<unknown>): Promise<{ code: Code; reason: string | undefined } | undefined> {
  return call.then(
    () => undefined,
    (error: unknown) => {
      const failure = ConnectError.from(error);
      return { code: failure.code, reason: failure.findDetails(ErrorInfoSchema)[0]?.reason };
    },
  );
}

describe("the user service's token checks while its revocation feed is not current", () => {
  const capture = capturingDelivery();
  let stack: Stack;
  let auth: Client<typeof AuthService>;
  let users: Client<typeof UserService>;
  let counter = 0;
  const newPerson = async () => {
    counter += 1;
    return signUp(auth, users, capture, `outage-${counter}@example.com`, `outage_${process.pid % 1000}_${counter}`);
  };
  const getMe = (session: SignedIn) => users.getMe({}, bearer(session.accessToken));
  const sessionChecks = async (outcome: string) =>
    sampleValue(await scrape(metricsPort(stack.user)), "mintcoin_session_checks_total", { outcome }) ?? 0;

  beforeAll(async () => {
    stack = await startStack({ authOverrides: { delivery: capture }, authEnv: { ADMIN_IDENTIFIERS: admin } });
    auth = connectAuthClient(stack.auth.baseUrl);
    users = connectUserClient(stack.user.baseUrl);
    await waitFor(() => stack.user.handle.admission.trustsFeed(), { timeoutMs: 15_000 });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("asks the auth service nothing while the feed is current (no ValidateToken call)", async () => {
    const person = await newPerson();
    for (let call = 0; call < 5; call++) await getMe(person);
    for (const outcome of ["active", "revoked", "unavailable"]) expect(await sessionChecks(outcome)).toBe(0);
    const authSide = await scrape(metricsPort(stack.auth));
    expect(sampleValue(authSide, "mintcoin_rpc_handled_total", { method: "ValidateToken" })).toBeUndefined();
  });

  const stopNats = async () => {
    await stack.nats.stop();
    await waitFor(() => !stack.user.handle.admission.trustsFeed(), { timeoutMs: 15_000 });
  };

  describe("with NATS down", () => {
    beforeAll(stopNats);
    afterAll(async () => {
      await stack.nats.start();
    });

    it("refuses a session revoked meanwhile within a second, and keeps serving the person's other session", async () => {
      const person = await newPerson();
      const otherDevice = await signIn(auth, capture, person.identifier, "device-2");
      await getMe(person);
      expect(await sessionChecks("active")).toBeGreaterThan(0);

      await auth.logout({}, bearer(person.accessToken)); // its event waits in the auth outbox
      const { refusal: refused, lastAcceptedStartMs } = await refusedWithin(performance.now(), () =>
        refusalOf(getMe(person)),
      );
      expect(lastAcceptedStartMs).toBeLessThan(1_000);
      expect(refused).toEqual({ code: Code.Unauthenticated, reason: "SESSION_REVOKED" });
      expect(await sessionChecks("revoked")).toBeGreaterThan(0);
      await getMe(otherDevice);
    });

    it("refuses a user suspended, banned or deleted meanwhile within a second, from its own database", async () => {
      const suspended = await newPerson();
      const banned = await newPerson();
      const deleted = await newPerson();
      const operator = await signIn(auth, capture, admin);
      await Promise.all([getMe(suspended), getMe(banned), getMe(deleted)]);

      await users.suspendUser({ userId: suspended.userId, reason: "outage test" }, bearer(operator.accessToken));
      await users.banUser({ userId: banned.userId, reason: "outage test" }, bearer(operator.accessToken));
      await users.updateLifecycleState(
        { userId: deleted.userId, state: LifecycleState.DELETED, reason: "outage test" },
        bearer(operator.accessToken),
      );
      // A deleted user's own profile is NOT_FOUND anyway: ask what any signed-in person may, so only
      // the token check can refuse it.
      const askAsDeleted = () =>
        users.checkUsernameAvailability({ username: `free_${process.pid % 1000}` }, bearer(deleted.accessToken));
      const { refusal: refusals, lastAcceptedStartMs } = await refusedWithin(performance.now(), async () => {
        const all = await Promise.all([
          refusalOf(getMe(suspended)),
          refusalOf(getMe(banned)),
          refusalOf(askAsDeleted()),
        ]);
        return all.every((refusal) => refusal !== undefined) ? all : undefined;
      });
      expect(lastAcceptedStartMs).toBeLessThan(1_000);
      expect(refusals).toEqual([
        { code: Code.PermissionDenied, reason: "USER_SUSPENDED" },
        { code: Code.PermissionDenied, reason: "USER_BANNED" },
        { code: Code.PermissionDenied, reason: "USER_DELETED" },
      ]);
      recordSurvival({
        fault: "NATS down: a session revoked, a user suspended, one banned and one deleted meanwhile",
        tried:
          "GetMe with the revoked session's token and the suspended and banned users' tokens; CheckUsernameAvailability with the deleted user's",
        times: "every run",
        lost: "nothing: refused within a second (the user service asks the auth service and its own database)",
      });
    });
  });

  describe("with NATS and the auth service down", () => {
    let person: SignedIn;
    beforeAll(async () => {
      person = await newPerson();
      // Stopped while NATS is up: its graceful stop then flushes the outbox at once.
      await stack.auth.close();
      await stopNats();
    });

    it("answers UNAVAILABLE (retry) once its last answer is a second old, rather than accept what it cannot check", async () => {
      const refused = await waitFor(async () => refusalOf(getMe(person)), { timeoutMs: 2_000, intervalMs: 10 });
      expect(refused).toEqual({ code: Code.Unavailable, reason: "SESSION_CHECK_UNAVAILABLE" });
      expect(await sessionChecks("unavailable")).toBeGreaterThan(0);
      recordSurvival({
        fault: "NATS and the auth service both down",
        tried: "GetMe with a valid token the user service can no longer check",
        times: "every run",
        lost: "nothing: UNAVAILABLE (retriable), never accepted unchecked",
      });
    });
  });
});
