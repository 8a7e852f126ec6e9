// A stream of complete sign-ups as real clients make them (SendOtp, VerifyOtp, Login, CreateUser,
// UpdateMe twice, RefreshToken), with a ledger of what each call answered. Every attempt uses keys
// of its own (a fresh identifier, a fresh name), so each success maps to exactly one event and each
// failure to at most one: that is what lets a fault test say "nothing lost, nothing doubled".
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { IdentifierType, OtpPurpose, type AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import type { UserService } from "../../../gen/mintcoin/user/v1/user_pb.js";
import { bearer } from "./sign-in.js";

export type Step =
  | { rpc: "SendOtp"; identifier: string }
  | { rpc: "VerifyOtp"; identifier: string }
  | { rpc: "Login"; identifier: string; sessionId?: string; userId?: string }
  | { rpc: "CreateUser"; userId: string; username: string }
  | { rpc: "UpdateMe"; userId: string; name: string }
  | { rpc: "RefreshToken"; userId: string; sessionId: string };

export interface Call {
  step: Step;
  /** "ok", or the error code. */
  code: Code | "ok";
  message: string;
  /** Milliseconds from the call's start to its answer. */
  ms: number;
  /** When the call started (Date.now()). */
  at: number;
}

export interface Ledger {
  calls: Call[];
  flowsStarted: number;
  flowsCompleted: number;
}

export interface WorkloadTarget {
  auth: Client<typeof AuthService>;
  users: Client<typeof UserService>;
  /** The code the delivery was handed for `identifier` (captured in-process, or read from NATS). */
  codeFor(identifier: string): Promise<string>;
}

export interface WorkloadOptions {
  /** Picks the target for each flow (e.g. alternating between two instances). */
  target: (flow: number) => WorkloadTarget;
  /** Flows running at once. */
  concurrency: number;
  /** Makes identifiers and usernames unique to this run. */
  tag: string;
  /** Stops starting new flows once this returns true (flows in progress finish). */
  stop: () => boolean;
  /** Upper bound on flows, so a test is bounded even if `stop` never comes. */
  maxFlows?: number;
  /** Pause between a worker's flows; 0 for none. */
  pauseMs?: number | (() => number);
}

/** Every call gives up after 15 s (DEADLINE_EXCEEDED in the ledger), so a stuck call cannot stall a test. */
function deadline(): { timeoutMs: number } {
  return { timeoutMs: 15_000 };
}

export function emptyLedger(): Ledger {
  return { calls: [], flowsStarted: 0, flowsCompleted: 0 };
}

/** Runs flows until `stop()`; resolves when every started flow has finished. */
export async function runWorkload(options: WorkloadOptions, ledger: Ledger = emptyLedger()): Promise<Ledger> {
  let next = 0;
  const maxFlows = options.maxFlows ?? Number.POSITIVE_INFINITY;
  const worker = async () => {
    while (!options.stop() && next < maxFlows) {
      const flow = next++;
      ledger.flowsStarted++;
      const completed = await signUpFlow(options.target(flow), `${options.tag}${flow}`, ledger);
      if (completed) ledger.flowsCompleted++;
      // After a failure a client backs off, as real ones do; without it, a worker facing a refused
      // connection would burn through thousands of instant failures while a service restarts.
      const pause = !completed
        ? 50
        : typeof options.pauseMs === "function"
          ? options.pauseMs()
          : (options.pauseMs ?? 0);
      if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return ledger;
}

export interface PacedOptions {
  target: (flow: number) => WorkloadTarget;
  /** Flows started per second (open loop: a slow service does not slow the arrivals). */
  ratePerSecond: number;
  /** Flows in progress at most; arrivals beyond it are counted as dropped, not queued. */
  maxInFlight: number;
  tag: string;
  stop: () => boolean;
}

/** Starts flows at a fixed rate until `stop()`; resolves when the last one has finished. */
export async function runAtRate(
  options: PacedOptions,
  ledger: Ledger = emptyLedger(),
): Promise<Ledger & { dropped: number }> {
  const running = new Set<Promise<void>>();
  let dropped = 0;
  let flow = 0;
  const started = performance.now();
  while (!options.stop()) {
    const due = Math.floor(((performance.now() - started) / 1000) * options.ratePerSecond);
    while (flow < due) {
      const index = flow++;
      if (running.size >= options.maxInFlight) {
        dropped++;
        continue;
      }
      ledger.flowsStarted++;
      const task: Promise<void> = signUpFlow(options.target(index), `${options.tag}${index}`, ledger).then(
        (completed) => {
          if (completed) ledger.flowsCompleted++;
          running.delete(task);
        },
      );
      running.add(task);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(running);
  return Object.assign(ledger, { dropped });
}

/** One sign-up; stops at the first failed call. Returns whether every call succeeded. */
export async function signUpFlow(target: WorkloadTarget, key: string, ledger: Ledger): Promise<boolean> {
  const { auth, users } = target;
  const identifier = `${key}@load.example`;
  const deviceId = `dev-${key}`.slice(0, 128);
  const call = async <T>(step: Step, run: () => Promise<T>): Promise<T | undefined> => {
    const at = Date.now();
    const started = performance.now();
    try {
      const result = await run();
      ledger.calls.push({ step, code: "ok", message: "", ms: performance.now() - started, at });
      return result;
    } catch (error) {
      const connectError = ConnectError.from(error);
      ledger.calls.push({
        step,
        code: connectError.code,
        message: connectError.rawMessage,
        ms: performance.now() - started,
        at,
      });
      return undefined;
    }
  };

  const request = { identifier, identifierType: IdentifierType.EMAIL, purpose: OtpPurpose.LOGIN };
  if (!(await call({ rpc: "SendOtp", identifier }, () => auth.sendOtp({ ...request, deviceId }, deadline()))))
    return false;
  const code = await target.codeFor(identifier).catch(() => undefined);
  if (code === undefined) return false;
  const verified = await call({ rpc: "VerifyOtp", identifier }, () => auth.verifyOtp({ ...request, code }, deadline()));
  if (!verified) return false;
  const loginStep: Step = { rpc: "Login", identifier };
  const login = await call(loginStep, () =>
    auth.login({ verificationToken: verified.verificationToken, deviceId, deviceName: "load" }, deadline()),
  );
  if (!login) return false;
  Object.assign(loginStep, { sessionId: login.sessionId, userId: login.userId });
  const access = login.tokens!.accessToken;
  const username = `u_${key}`.replace(/[^a-z0-9_.]/gi, "_").slice(0, 30);
  if (
    login.newUser &&
    !(await call({ rpc: "CreateUser", userId: login.userId, username }, () =>
      users.createUser({ username, name: "Load" }, { ...bearer(access), ...deadline() }),
    ))
  ) {
    return false;
  }
  for (const round of [1, 2]) {
    const name = `Name ${key} ${round}`;
    if (
      !(await call({ rpc: "UpdateMe", userId: login.userId, name }, () =>
        users.updateMe({ name }, { ...bearer(access), ...deadline() }),
      ))
    )
      return false;
  }
  const refreshed = await call({ rpc: "RefreshToken", userId: login.userId, sessionId: login.sessionId }, () =>
    auth.refreshToken({ refreshToken: login.tokens!.refreshToken, deviceId }, deadline()),
  );
  return refreshed !== undefined;
}

export function successes(ledger: Ledger): Step[] {
  return ledger.calls.filter((call) => call.code === "ok").map((call) => call.step);
}

export function failures(ledger: Ledger): Call[] {
  return ledger.calls.filter((call) => call.code !== "ok");
}

/** "SendOtp: 120 ok, 3 UNAVAILABLE; ..." for failure messages and reports. */
export function summarize(ledger: Ledger): string {
  const counts = new Map<string, number>();
  for (const call of ledger.calls) {
    const key = `${call.step.rpc} ${call.code === "ok" ? "ok" : Code[call.code]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, count]) => `${key}: ${count}`).join(", ");
}
