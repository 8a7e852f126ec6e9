// Scenario 2: ValidateToken (AuthService) and GetMe (UserService) for a valid token of an active
// session, against the empty RPC. The targets (0.9x and 0.85x of the empty RPC) need both to answer
// without a database round trip in the common case; commits_per_op shows writes, and the CPU per
// call shows the rest.
import { create, toBinary } from "@bufbuild/protobuf";
import { ValidateTokenRequestSchema } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import { GetMeRequestSchema } from "../../../gen/mintcoin/user/v1/user_pb.js";
import type { BenchClient } from "../clients.js";
import { jetStreamInbox } from "../code-inbox.js";
import {
  h2loadShapes,
  measuredH2load,
  measuredLoad,
  nodeConcurrencies,
  runSeconds,
  type BenchContext,
  warmUpH2load,
} from "../context.js";
import { probeSignIn } from "../flows.js";
import { grpcFrame } from "../h2load.js";
import {
  compareByShape,
  h2loadHeadline,
  pooledRun,
  scenarioFromRuns,
  skipped,
  type RunRow,
  type ScenarioResult,
} from "../report.js";

export async function tokenScenarios(
  ctx: BenchContext,
  emptyRpc: ScenarioResult | undefined,
): Promise<ScenarioResult[]> {
  const inbox = await jetStreamInbox(ctx.infra.natsUrl);
  const client = ctx.clients[0]!;
  let session: Awaited<ReturnType<typeof probeSignIn>>;
  try {
    session = await probeSignIn(client, inbox, "token");
  } catch (error) {
    const reason = `sign-in failed: ${messageOf(error)}`;
    return [skipped("validate-token", reason), skipped("get-me", reason)];
  } finally {
    await inbox.close();
  }
  const token = session.accessToken;
  return [await validateToken(ctx, token, emptyRpc), await getMe(ctx, token, emptyRpc)];
}

async function validateToken(
  ctx: BenchContext,
  token: string,
  emptyRpc: ScenarioResult | undefined,
): Promise<ScenarioResult> {
  const name = "validate-token";
  ctx.log(`${name}: AuthService.ValidateToken of a valid access token`);
  for (const client of ctx.clients) {
    try {
      if (!(await client.validateToken(token)))
        return skipped(name, "ValidateToken answered valid=false for a fresh token");
    } catch (error) {
      return skipped(name, `ValidateToken failed: ${messageOf(error)}`);
    }
  }
  const body = grpcFrame(
    toBinary(ValidateTokenRequestSchema, create(ValidateTokenRequestSchema, { accessToken: token })),
  );
  const url = `${ctx.auth.baseUrl}/mintcoin.auth.v1.AuthService/ValidateToken`;
  const measured = await cheapRuns(ctx, [ctx.auth], ctx.auth.baseUrl, url, body, {}, (client) =>
    client.validateToken(token).then(() => undefined),
  );
  return compareWithEmpty(name, measured, emptyRpc, "auth", 0.9);
}

async function getMe(ctx: BenchContext, token: string, emptyRpc: ScenarioResult | undefined): Promise<ScenarioResult> {
  const name = "get-me";
  ctx.log(`${name}: UserService.GetMe with a valid access token`);
  if (!ctx.user) return skipped(name, ctx.userFailure ?? "no user service");
  const user = ctx.user;
  try {
    await ctx.clients[0]!.createUser(token, `bench_${Date.now().toString(36)}`, "Bench User");
    for (const client of ctx.clients) await client.getMe(token);
  } catch (error) {
    return skipped(name, `CreateUser/GetMe failed: ${messageOf(error)}`);
  }
  const body = grpcFrame(toBinary(GetMeRequestSchema, create(GetMeRequestSchema, {})));
  const url = `${user.baseUrl}/mintcoin.user.v1.UserService/GetMe`;
  const measured = await cheapRuns(
    ctx,
    [user, ctx.auth],
    user.baseUrl,
    url,
    body,
    { authorization: `Bearer ${token}` },
    (client) => client.getMe(token).then(() => undefined),
  );
  return compareWithEmpty(name, measured, emptyRpc, "user", 0.85);
}

/**
 * The RPC's runs, and with h2load at each shape the empty RPC (Health/Check) on the same port, in
 * ABBA order (empty, RPC, RPC, empty; each side's two runs pooled): the same process in the same
 * state (its heap, its compiled code, what ran before) on both sides, and neither side always the
 * one that follows the other and pays for its leftover garbage collection. Measured once at the start
 * of the benchmark instead, the empty RPC ran on a fresh process, and ValidateToken's ratio moved with
 * whatever the scenarios in between had left behind. The four runs of each shape are kept as they
 * were measured (`pairedRuns`).
 */
async function cheapRuns(
  ctx: BenchContext,
  processes: Parameters<typeof measuredLoad>[1],
  baseUrl: string,
  url: string,
  body: Uint8Array,
  headers: Record<string, string>,
  call: (client: BenchClient) => Promise<void>,
): Promise<{ runs: RunRow[]; pairedEmpty: RunRow[]; pairedRuns: RunRow[] }> {
  const runs: RunRow[] = [];
  const pairedEmpty: RunRow[] = [];
  const pairedRuns: RunRow[] = [];
  if (ctx.h2load) {
    const empty = { url: `${baseUrl}/grpc.health.v1.Health/Check`, body: grpcFrame(new Uint8Array(0)) };
    const rpc = { url, body, headers };
    await warmUpH2load(ctx, empty);
    await warmUpH2load(ctx, rpc);
    for (const shape of h2loadShapes(ctx)) {
      const emptyNote = "empty RPC on the same port";
      const before = await measuredH2load(ctx, processes, shape, empty, emptyNote);
      const first = await measuredH2load(ctx, processes, shape, rpc);
      const second = await measuredH2load(ctx, processes, shape, rpc);
      const after = await measuredH2load(ctx, processes, shape, empty, emptyNote);
      pairedRuns.push(before, first, second, after);
      runs.push(pooledRun(first, second, "two runs pooled, between the empty RPC's (ABBA)"));
      pairedEmpty.push(pooledRun(before, after, "empty RPC on the same port, two runs pooled (ABBA)"));
    }
  }
  for (const client of ctx.clients) {
    for (const inFlight of nodeConcurrencies(ctx)) {
      runs.push(
        await measuredLoad(ctx, processes, client.kind, inFlight, {
          durationMs: runSeconds(ctx, "cheap") * 1000,
          op: () => call(client),
        }),
      );
    }
  }
  return { runs, pairedEmpty, pairedRuns };
}

/**
 * Like with like: each h2load run against the empty RPC pooled around it on the same port (cheapRuns),
 * each Node-client run (listed, not judged) against empty-rpc-connect's run of the same client, which
 * was on the auth port, at the start of the benchmark.
 */
export function compareWithEmpty(
  name: string,
  measured: { runs: RunRow[]; pairedEmpty: RunRow[]; pairedRuns: RunRow[] },
  emptyRpc: ScenarioResult | undefined,
  service: "auth" | "user",
  target: number,
): ScenarioResult {
  const row = scenarioFromRuns(name, measured.runs, {}, h2loadHeadline);
  const text = `>= ${target}x of the empty RPC on the same port`;
  const nodeClientRuns = (emptyRpc?.runs ?? []).filter((run) => run.client !== "h2load");
  const baselineName = `the empty RPC on the ${service} port (h2load: ABBA around each shape, same process; Node clients: empty-rpc-connect)`;
  const baseline = scenarioFromRuns(baselineName, [...measured.pairedEmpty, ...nodeClientRuns], {}, h2loadHeadline);
  const extra = { ...row.extra, paired_runs: measured.pairedRuns };
  if (row.skipped || baseline.skipped) return { ...row, extra, baseline: baselineName, target: text };
  const compared = compareByShape(row, baseline, { atLeast: target, text });
  return { ...compared, extra: { ...compared.extra, paired_runs: measured.pairedRuns } };
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
