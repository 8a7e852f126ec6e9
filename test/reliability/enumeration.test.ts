import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ConnectError, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentifierType, OtpPurpose, type AuthService } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { capturingDelivery, connectAuthClient, connectUserClient } from "../fixtures/services.js";
import { median } from "../support/statistics.js";
import { mannWhitney } from "./helpers/rank-test.js";
import { bearer, signUp, verifyIdentifier } from "./helpers/sign-in.js";
import { startStack, type Stack } from "./helpers/stack.js";
import { recordSurvival } from "./helpers/survival-log.js";

// Can a caller tell whether an account exists? SendOtp and LoginWithPassword must give a known and
// an unknown identifier the same answer, in the same time. Time is compared as distributions of a
// few hundred calls each with a rank test and a generous bound (|z| < 4.5, p about 1e-5): this is a
// statistical property of the service, not a speed assertion, and it would still catch a skipped
// argon2id (tens of milliseconds) or a skipped database round trip on the unknown path. A control
// checks that the same test does see a real difference.

const samples = 200;
/** argon2id makes these the slow ones; 150 a side still tells a skipped hash (tens of ms) at |z| > 10. */
const passwordSamples = 150;
/** Accounts without a password are sampled every other round, so they see the same drift as the rest. */
const noPasswordEvery = 2;
const zBound = 4.5;
const password = "the right password 42";

describe("no account enumeration through answers or timing", () => {
  let stack: Stack;
  let auth: Client<typeof AuthService>;
  const delivery = capturingDelivery();
  const knownWithPassword = Array.from({ length: 5 }, (_, index) => `known-pw-${index}@enum.example`);
  const knownWithoutPassword = Array.from({ length: 5 }, (_, index) => `known-nopw-${index}@enum.example`);
  const unknown = Array.from({ length: 10 }, (_, index) => `nobody-${index}@enum.example`);
  const timings = { sendKnown: [] as number[], sendUnknown: [] as number[], passwordUnknown: [] as number[] };

  beforeAll(async () => {
    stack = await startStack({
      authEnv: {
        OTP_RATE_LIMIT_MAX_REQUESTS: "1000000",
        OTP_IP_RATE_LIMIT_MAX_REQUESTS: "1000000",
        PASSWORD_LOCKOUT_THRESHOLD: "1000000",
        PASSWORD_IP_MAX_FAILURES: "1000000",
      },
      authOverrides: { delivery },
    });
    auth = connectAuthClient(stack.auth.baseUrl);
    const users = connectUserClient(stack.user.baseUrl);
    for (const [index, identifier] of [...knownWithPassword, ...knownWithoutPassword].entries()) {
      const session = await signUp(auth, users, delivery, identifier, `enum_${index}`);
      if (knownWithPassword.includes(identifier)) {
        const verificationToken = await verifyIdentifier(auth, delivery, identifier);
        await auth.setPassword({ verificationToken, password }, bearer(session.accessToken));
      }
    }
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  });

  async function timed<T>(call: () => Promise<T>): Promise<{ ms: number; result: T | ConnectError }> {
    const started = performance.now();
    const result = await call().catch((error: unknown) => ConnectError.from(error));
    return { ms: performance.now() - started, result };
  }

  it("SendOtp: the same answer and a statistically indistinguishable time for known and unknown identifiers", async () => {
    const send = (identifier: string) =>
      timed(() =>
        auth.sendOtp({
          identifier,
          identifierType: IdentifierType.EMAIL,
          purpose: OtpPurpose.LOGIN,
          deviceId: "enum-device",
        }),
      );
    const known = [...knownWithPassword, ...knownWithoutPassword];
    for (let index = 0; index < 20; index++) await send(unknown[index % unknown.length]!); // warm-up
    const shapes = new Set<string>();
    // Interleaved, so that drift (a neighbour's load, JIT, a growing table) hits both alike.
    for (let index = 0; index < samples; index++) {
      for (const [identifier, into] of [
        [known[index % known.length]!, timings.sendKnown],
        [unknown[index % unknown.length]!, timings.sendUnknown],
      ] as const) {
        const { ms, result } = await send(identifier);
        if (result instanceof ConnectError) throw result;
        into.push(ms);
        const lifetime =
          timestampDate(result.expiresAt!).getTime() - timestampDate(result.resendAvailableAt!).getTime();
        shapes.add(
          JSON.stringify({ fields: Object.keys(result).sort(), lifetimeSeconds: Math.round(lifetime / 1000) }),
        );
      }
    }
    expect([...shapes]).toHaveLength(1);
    const { z, effect } = mannWhitney(timings.sendKnown, timings.sendUnknown);
    const detail = `z=${z.toFixed(2)} P(known slower)=${effect.toFixed(3)} medians ${median(timings.sendKnown).toFixed(2)} / ${median(timings.sendUnknown).toFixed(2)} ms`;
    expect(Math.abs(z), detail).toBeLessThan(zBound);
    recordSurvival({
      fault: "Account enumeration through SendOtp",
      tried: `${samples} known vs ${samples} unknown identifiers, interleaved; answers compared, times rank-tested (${detail})`,
      times: samples * 2,
      lost: "nothing revealed: one answer shape, |z| below 4.5",
    });
  }, 120_000);

  it("LoginWithPassword: one answer and a statistically indistinguishable time for a wrong password, an unknown identifier and an account without a password", async () => {
    const login = (identifier: string, attempt: string) =>
      timed(() =>
        auth.loginWithPassword({
          identifier,
          identifierType: IdentifierType.EMAIL,
          password: attempt,
          deviceId: "enum-device",
          deviceName: "",
        }),
      );
    for (let index = 0; index < 10; index++) await login(unknown[index % unknown.length]!, "warm up"); // warm-up
    const wrongPassword: number[] = [];
    const unknownIdentifier = timings.passwordUnknown;
    const withoutPassword: number[] = [];
    const answers = new Set<string>();
    const record = (result: unknown) => {
      expect(result).toBeInstanceOf(ConnectError);
      const error = result as ConnectError;
      answers.add(
        JSON.stringify({
          code: error.code,
          message: error.rawMessage,
          reason: error.findDetails(ErrorInfoSchema)[0]?.reason,
        }),
      );
    };
    for (let index = 0; index < passwordSamples; index++) {
      const wrong = await login(knownWithPassword[index % knownWithPassword.length]!, `wrong password ${index}`);
      record(wrong.result);
      wrongPassword.push(wrong.ms);
      const nobody = await login(unknown[index % unknown.length]!, `wrong password ${index}`);
      record(nobody.result);
      unknownIdentifier.push(nobody.ms);
      if (index % noPasswordEvery === 0) {
        const none = await login(knownWithoutPassword[index % knownWithoutPassword.length]!, `wrong password ${index}`);
        record(none.result);
        withoutPassword.push(none.ms);
      }
    }
    expect([...answers]).toHaveLength(1);
    const versusUnknown = mannWhitney(wrongPassword, unknownIdentifier);
    // Against the wrong passwords of the same rounds: a busy neighbour slowing one stretch of the run
    // must not look like a difference between the two.
    const versusNoPassword = mannWhitney(
      wrongPassword.filter((_, index) => index % noPasswordEvery === 0),
      withoutPassword,
    );
    const detail =
      `wrong vs unknown z=${versusUnknown.z.toFixed(2)}, wrong vs no password z=${versusNoPassword.z.toFixed(2)}; medians ` +
      `${median(wrongPassword).toFixed(1)} / ${median(unknownIdentifier).toFixed(1)} / ${median(withoutPassword).toFixed(1)} ms`;
    expect(Math.abs(versusUnknown.z), detail).toBeLessThan(zBound);
    expect(Math.abs(versusNoPassword.z), detail).toBeLessThan(zBound);
    recordSurvival({
      fault: "Account enumeration through LoginWithPassword",
      tried: `${passwordSamples} wrong passwords, ${passwordSamples} unknown identifiers, ${withoutPassword.length} accounts without a password, interleaved (${detail})`,
      times: passwordSamples * 2 + withoutPassword.length,
      lost: "nothing revealed: one answer (code, message, reason), |z| below 4.5",
    });
  }, 180_000);

  it("the timing test has power: it does tell SendOtp from LoginWithPassword (an argon2id check apart)", () => {
    const { z } = mannWhitney(timings.passwordUnknown, timings.sendUnknown);
    expect(z).toBeGreaterThan(zBound);
  });
});
