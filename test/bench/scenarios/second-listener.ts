// The second-listener prototype measured on the real thing: one AuthService process
// (auth-second-listener.ts, a second instance on the same database) serving ValidateToken on its
// Connect port and, through the same handlers and interceptors, on a @grpc/grpc-js port.
import { create, toBinary } from "@bufbuild/protobuf";
import { fileURLToPath } from "node:url";
import { ValidateTokenRequestSchema } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import { freePort } from "../../support/server-process.js";
import { grpcJsClient } from "../clients.js";
import { jetStreamInbox } from "../code-inbox.js";
import { measuredH2load, measuredLoad, runSeconds, type BenchContext } from "../context.js";
import { probeSignIn } from "../flows.js";
import { grpcFrame } from "../h2load.js";
import { healthServing, spawnNode, waitUntilUp } from "../processes.js";
import { h2load64, sameRunRatio, scenarioFromRuns, skipped, type RunRow, type ScenarioResult } from "../report.js";
import { benchAuthEnv } from "../services.js";
import { messageOf } from "./tokens.js";

const script = fileURLToPath(new URL("../auth-second-listener.ts", import.meta.url));

export async function secondListenerScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const name = "validate-token-grpc-js-listener";
  if (!ctx.h2load) return skipped(name, "needs h2load");
  const inbox = await jetStreamInbox(ctx.infra.natsUrl);
  let token: string;
  try {
    token = (await probeSignIn(ctx.clients[0]!, inbox, "listener")).accessToken;
  } catch (error) {
    return skipped(name, `sign-in failed: ${messageOf(error)}`);
  } finally {
    await inbox.close();
  }
  const [connectPort, grpcJsPort] = [await freePort(), await freePort()];
  const proc = spawnNode({
    name: "auth-2-listeners",
    script,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      HOST: "127.0.0.1",
      ...benchAuthEnv,
      AUTH_PORT: String(connectPort),
      AUTH_METRICS_PORT: "off",
      AUTH_DATABASE_URL: ctx.databases.auth.url,
      NATS_URL: ctx.infra.natsUrl,
      GRPC_JS_PORT: String(grpcJsPort),
    },
  });
  const client = grpcJsClient(`127.0.0.1:${grpcJsPort}`, "127.0.0.1:1");
  const viaConnectPort = grpcJsClient(`127.0.0.1:${connectPort}`, "127.0.0.1:1");
  try {
    await waitUntilUp(proc, () => healthServing(`http://127.0.0.1:${connectPort}`));
    if (!(await client.validateToken(token))) return skipped(name, "ValidateToken through the grpc-js listener said valid=false");
    const body = grpcFrame(toBinary(ValidateTokenRequestSchema, create(ValidateTokenRequestSchema, { accessToken: token })));
    const path = "/mintcoin.auth.v1.AuthService/ValidateToken";
    const cheap = runSeconds(ctx, "cheap") * 1000;
    const connectRuns: RunRow[] = [
      await measuredH2load(ctx, [proc], 64, { url: `http://127.0.0.1:${connectPort}${path}`, body }, "Connect listener"),
      await measuredLoad(ctx, [proc], "grpc-js", 16, { durationMs: cheap, op: () => viaConnectPort.validateToken(token).then(() => undefined) }, "Connect listener"),
    ];
    const grpcJsRuns: RunRow[] = [await measuredH2load(ctx, [proc], 64, { url: `http://127.0.0.1:${grpcJsPort}${path}`, body }, "grpc-js listener")];
    grpcJsRuns.push(
      await measuredLoad(ctx, [proc], "grpc-js", 16, { durationMs: cheap, op: () => client.validateToken(token).then(() => undefined) }, "grpc-js listener"),
    );
    const baseline = scenarioFromRuns("validate-token (Connect listener of the same process)", connectRuns, {}, h2load64);
    const row = scenarioFromRuns(name, grpcJsRuns, {
      notes: [
        "prototype: test/bench/auth-second-listener.ts serves the same routes, handlers and interceptor chain on a second, @grpc/grpc-js port",
        "baseline: h2load on the same process's Connect port, in the same run",
      ],
    }, h2load64);
    const { ratio, meaning } = sameRunRatio(row, baseline);
    return { ...row, runs: [...connectRuns, ...grpcJsRuns], baseline: "validate-token on the Connect listener of the same process", ratio_to_baseline: ratio, ratio_meaning: meaning };
  } catch (error) {
    return skipped(name, `failed: ${messageOf(error)}`);
  } finally {
    client.close();
    viaConnectPort.close();
    await proc.stop();
  }
}
