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
  const { runs, pairedEmpty } = await cheapRuns(ctx, [ctx.auth], ctx.auth.baseUrl, url, body, {}, (client) =>
    client.validateToken(token).then(() => undefined),
  );
  return compareWithEmpty(name, runs, withPairedEmpty(emptyRpc, pairedEmpty, "auth"), 0.9);
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
  const { runs, pairedEmpty } = await cheapRuns(
    ctx,
    [user, ctx.auth],
    user.baseUrl,
    url,
    body,
    { authorization: `Bearer ${token}` },
    (client) => client.getMe(token).then(() => undefined),
  );
  return compareWithEmpty(name, runs, withPairedEmpty(emptyRpc, pairedEmpty, "user"), 0.85);
}

/**
 * The RPC's runs, and with h2load at each shape an empty RPC (Health/Check) on the same port just
 * before it: the same process in the same state (its heap, its compiled code, what ran before), so
 * that the ratio compares the calls and not the moments. Measured once at the start of the
 * benchmark instead, the empty RPC ran on a fresh process, and ValidateToken's ratio moved with
 * whatever the scenarios in between had left behind.
 */
async function cheapRuns(
  ctx: BenchContext,
  processes: Parameters<typeof measuredLoad>[1],
  baseUrl: string,
  url: string,
  body: Uint8Array,
  headers: Record<string, string>,
  call: (client: BenchClient) => Promise<void>,
): Promise<{ runs: RunRow[]; pairedEmpty: RunRow[] }> {
  const runs: RunRow[] = [];
  const pairedEmpty: RunRow[] = [];
  if (ctx.h2load) {
    const empty = { url: `${baseUrl}/grpc.health.v1.Health/Check`, body: grpcFrame(new Uint8Array(0)) };
    await warmUpH2load(ctx, empty);
    await warmUpH2load(ctx, { url, body, headers });
    for (const shape of h2loadShapes(ctx)) {
      pairedEmpty.push(await measuredH2load(ctx, processes, shape, empty, "empty RPC on the same port, just before"));
      runs.push(await measuredH2load(ctx, processes, shape, { url, body, headers }));
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
  return { runs, pairedEmpty };
}

/**
 * The baseline of a cheap RPC: its h2load runs against the paired empty runs taken just before them,
 * its Node clients' runs (listed, not judged) against empty-rpc-connect's.
 */
function withPairedEmpty(
  emptyRpc: ScenarioResult | undefined,
  pairedEmpty: RunRow[],
  service: "auth" | "user",
): ScenarioResult | undefined {
  if (pairedEmpty.length === 0) return emptyRpc;
  const nodeClientRuns = (emptyRpc?.runs ?? []).filter((run) => run.client !== "h2load");
  return scenarioFromRuns(
    `the empty RPC on the ${service} service's port (h2load: run just before, same process)`,
    [...pairedEmpty, ...nodeClientRuns],
    {},
    h2loadHeadline,
  );
}

/** Like with like: each of this scenario's runs against the empty RPC's run of the same client and shape. */
export function compareWithEmpty(
  name: string,
  runs: RunRow[],
  emptyRpc: ScenarioResult | undefined,
  target: number,
): ScenarioResult {
  const row = scenarioFromRuns(name, runs, {}, h2loadHeadline);
  const text = `>= ${target}x of the empty RPC on the same port`;
  if (row.skipped || !emptyRpc || emptyRpc.skipped) return { ...row, baseline: "empty-rpc-connect", target: text };
  return compareByShape(row, emptyRpc, { atLeast: target, text });
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
