// The optional grpc-js listener measured on the real thing: one more AuthService process (the
// built service, a second instance on the same database) with AUTH_GRPC_JS_PORT set, serving
// ValidateToken on its main port and, through the same handlers and interceptors, on that port.
import { create, toBinary } from "@bufbuild/protobuf";
import { ValidateTokenRequestSchema } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import { freePort } from "../../support/server-process.js";
import { grpcJsClient } from "../clients.js";
import { jetStreamInbox } from "../code-inbox.js";
import { h2loadShapes, measuredH2load, measuredLoad, runSeconds, type BenchContext, warmUpH2load } from "../context.js";
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
import { startAuthProcess, type ServiceProcess } from "../services.js";
import { messageOf } from "./tokens.js";

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
  const grpcJsPort = await freePort();
  let proc: ServiceProcess;
  try {
    proc = await startAuthProcess({
      databaseUrl: ctx.databases.auth.url,
      natsUrl: ctx.infra.natsUrl,
      env: { AUTH_GRPC_JS_PORT: String(grpcJsPort) },
    });
  } catch (error) {
    return skipped(name, `the AuthService with AUTH_GRPC_JS_PORT did not start: ${messageOf(error)}`);
  }
  const connectPort = proc.port;
  const client = grpcJsClient(`127.0.0.1:${grpcJsPort}`, "127.0.0.1:1");
  const viaConnectPort = grpcJsClient(`127.0.0.1:${connectPort}`, "127.0.0.1:1");
  try {
    if (!(await client.validateToken(token)))
      return skipped(name, "ValidateToken through the grpc-js listener said valid=false");
    const body = grpcFrame(
      toBinary(ValidateTokenRequestSchema, create(ValidateTokenRequestSchema, { accessToken: token })),
    );
    const path = "/mintcoin.auth.v1.AuthService/ValidateToken";
    const cheap = runSeconds(ctx, "cheap") * 1000;
    if (ctx.h2load) {
      await warmUpH2load(ctx, { url: `http://127.0.0.1:${connectPort}${path}`, body });
      await warmUpH2load(ctx, { url: `http://127.0.0.1:${grpcJsPort}${path}`, body });
    }
    const connectRuns: RunRow[] = [];
    const grpcJsRuns: RunRow[] = [];
    for (const shape of h2loadShapes(ctx)) {
      connectRuns.push(
        await measuredH2load(ctx, [proc], shape, { url: `http://127.0.0.1:${connectPort}${path}`, body }, "main port"),
      );
      grpcJsRuns.push(
        await measuredH2load(
          ctx,
          [proc],
          shape,
          { url: `http://127.0.0.1:${grpcJsPort}${path}`, body },
          "grpc-js listener",
        ),
      );
    }
    connectRuns.push(
      await measuredLoad(
        ctx,
        [proc],
        "grpc-js",
        16,
        { durationMs: cheap, op: () => viaConnectPort.validateToken(token).then(() => undefined) },
        "main port",
      ),
    );
    grpcJsRuns.push(
      await measuredLoad(
        ctx,
        [proc],
        "grpc-js",
        16,
        { durationMs: cheap, op: () => client.validateToken(token).then(() => undefined) },
        "grpc-js listener",
      ),
    );
    const baseline = scenarioFromRuns(
      "validate-token (main port of the same process)",
      connectRuns,
      {},
      h2loadHeadline,
    );
    const row = scenarioFromRuns(
      name,
      grpcJsRuns,
      {
        notes: [
          "the AuthService with AUTH_GRPC_JS_PORT: the same routes, handlers and interceptor chain on a second, @grpc/grpc-js port (services/shared/server/grpc-js-listener.ts)",
          "baseline: the same process's main port, in the same run, at the same shapes",
        ],
      },
      h2loadHeadline,
    );
    return {
      ...compareByShape(row, baseline, undefined),
      runs: [...connectRuns, ...grpcJsRuns],
      baseline: "validate-token on the main port of the same process",
    };
  } catch (error) {
    return skipped(name, `failed: ${messageOf(error)}`);
  } finally {
    client.close();
    viaConnectPort.close();
    await proc.stop();
  }
}
