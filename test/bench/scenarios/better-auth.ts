// Scenario 6: better-auth's email-OTP sign-in (send code, sign in with code, get session) for
// returning users, on a plain node:http server in its own process, on the same Postgres, in the
// same run; compared with our otp-sign-in in sign-ins per service-CPU-second.
import { fileURLToPath } from "node:url";
import { type NodeProcess, spawnNode } from "../../support/node-process.js";
import { freePort, waitUntilReady } from "../../support/server-process.js";
import { freshEmail, measuredLoad, nodeConcurrencies, runSeconds, type BenchContext } from "../context.js";
import { named } from "../process-names.js";
import { round, runLabel, scenarioFromRuns, skipped, type RunRow, type ScenarioResult } from "../report.js";
import { messageOf } from "./tokens.js";

const serverScript = fileURLToPath(new URL("../better-auth-server.ts", import.meta.url));

export interface BetterAuthServer {
  proc: NodeProcess;
  baseUrl: string;
  /** The next code sent to this email. */
  code(email: string): Promise<string>;
}

/** Starts better-auth (migrations included) in its own process; in parallel with the rest of the start. */
export async function startBetterAuth(ctx: Pick<BenchContext, "infra">): Promise<BetterAuthServer> {
  const database = await ctx.infra.createDatabase("better_auth");
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const proc = named(
    spawnNode({
      name: "better-auth",
      script: serverScript,
      args: [String(port), database.url],
      env: { PATH: process.env.PATH, NODE_ENV: "production" },
      ipc: true,
    }),
  );
  const codes = new Map<string, string>();
  const waiters = new Map<string, (code: string) => void>();
  let ready = false;
  proc.child.on("message", (message: { ready?: boolean; email?: string; otp?: string }) => {
    if (message.ready) ready = true;
    if (!message.email || !message.otp) return;
    const waiter = waiters.get(message.email);
    if (waiter) {
      waiters.delete(message.email);
      waiter(message.otp);
    } else {
      codes.set(message.email, message.otp);
    }
  });
  const code = (email: string) => {
    const ready = codes.get(email);
    if (ready) {
      codes.delete(email);
      return Promise.resolve(ready);
    }
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no better-auth code for ${email}`)), 10_000);
      waiters.set(email, (otp) => {
        clearTimeout(timer);
        resolve(otp);
      });
    });
  };
  await waitUntilReady(proc.child, proc.logFile, `better-auth on port ${port}`, async () => ready, 60_000);
  return { proc, baseUrl, code };
}

export async function betterAuthScenario(
  ctx: BenchContext,
  server: BetterAuthServer,
  ours: ScenarioResult | undefined,
): Promise<ScenarioResult> {
  const name = "better-auth-otp-sign-in";
  const { proc, baseUrl, code } = server;
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${baseUrl}/api/auth${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: baseUrl },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
    return response;
  };
  const flow = async (email: string) => {
    await post("/email-otp/send-verification-otp", { email, type: "sign-in" });
    const otp = await code(email);
    const signedIn = await post("/sign-in/email-otp", { email, otp });
    const cookie = signedIn.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    const session = await fetch(`${baseUrl}/api/auth/get-session`, { headers: { cookie, origin: baseUrl } });
    const body = (await session.json()) as { session?: { id?: string } } | null;
    if (!body?.session?.id) throw new Error("get-session returned no session");
  };

  const runs: RunRow[] = [];
  try {
    await flow(freshEmail("ba-probe"));
    for (const inFlight of ctx.quick ? [16] : nodeConcurrencies(ctx)) {
      const durationMs = runSeconds(ctx, "flow") * 1000;
      const emails: string[] = [];
      runs.push(
        await measuredLoad(
          ctx,
          [proc],
          "http (fetch)",
          inFlight,
          {
            durationMs,
            async op() {
              const email = freshEmail("ba");
              await flow(email);
              emails.push(email);
            },
          },
          "new users (accounts for the returning run)",
        ),
      );
      runs.push(
        await measuredLoad(
          ctx,
          [proc],
          "http (fetch)",
          inFlight,
          {
            durationMs: durationMs * 2,
            maxOps: emails.length,
            op: (index) => flow(emails[index]!),
          },
          "returning users",
        ),
      );
    }
  } catch (error) {
    return skipped(name, `better-auth failed: ${messageOf(error)}`, { runs });
  } finally {
    await proc.stop();
  }
  const row = scenarioFromRuns(
    name,
    runs.filter((run) => run.note === "returning users"),
    {
      notes: [
        "better-auth 1.7.25 on node:http, pg Pool of 10, email-OTP plugin (storeOTP hashed), session.cookieCache on; rateLimit disabled (one client IP), telemetry off",
        "3 HTTP requests per sign-in (send-verification-otp, sign-in/email-otp, get-session); codes reach the client over IPC",
      ],
    },
  );
  row.runs = runs;
  const target = "ours >= 3x better-auth in sign-ins per service-CPU-second, at every load shape measured";
  if (!ours || ours.skipped || row.skipped) return { ...row, baseline: "otp-sign-in", target };
  const byShape = oursOverBetterAuth(runs, ours.runs ?? []);
  const best = runs.find((run) => runLabel(run) === row.headline);
  const headline = byShape.find((entry) => entry.client === "connect" && entry.in_flight === best?.in_flight);
  const judged = byShape.filter((entry) => entry.client === "connect");
  return {
    ...row,
    baseline: "otp-sign-in",
    ratio_to_baseline: headline ? round(1 / headline.ratio, 2) : null,
    ratio_meaning:
      "better-auth's sign-ins per service-CPU-second / ours with the Connect client at the same in-flight count (goal: <= 0.33, i.e. ours >= 3x)",
    target,
    met: judged.length === 0 ? null : judged.every((entry) => entry.ratio >= 3),
    extra: {
      ours_over_better_auth_by_shape: Object.fromEntries(
        byShape.map((entry) => [`${entry.client} x${entry.in_flight}`, entry.ratio]),
      ),
    },
    notes: [
      ...(row.notes ?? []),
      "compared per in-flight count, returning users against returning users: ours with the Connect client (HTTP, as a browser), better-auth with fetch; ours with grpc-js is listed beside it, not judged",
    ],
  };
}

/**
 * Ours / better-auth in sign-ins per service-CPU-second at each in-flight count both measured,
 * returning users on both sides.
 */
function oursOverBetterAuth(theirs: RunRow[], ours: RunRow[]): { client: string; in_flight: number; ratio: number }[] {
  const returning = (run: RunRow) => run.ops > 0 && !run.note?.startsWith("new users");
  const result: { client: string; in_flight: number; ratio: number }[] = [];
  for (const run of theirs.filter(returning)) {
    for (const mine of ours.filter((other) => returning(other) && other.in_flight === run.in_flight)) {
      if (run.ops_per_service_cpu_s > 0)
        result.push({
          client: mine.client,
          in_flight: run.in_flight,
          ratio: round(mine.ops_per_service_cpu_s / run.ops_per_service_cpu_s, 2),
        });
    }
  }
  return result;
}
