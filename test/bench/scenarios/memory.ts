// Scenario 7: peak RSS of each service with a million users and a million sessions in the
// databases (seed.ts), during a short load touching them: sign-ins of seeded (returning) users,
// GetMe and ValidateToken of their tokens, refresh. The services are restarted after seeding, so
// the peak covers their start (migrations check, key and revocation loading) as well.
import { jetStreamInbox } from "../code-inbox.js";
import { measuredLoad, runSeconds, type BenchContext } from "../context.js";
import { signIn, type Session } from "../flows.js";
import type { NodeProcess } from "../../support/node-process.js";
import { peakRssMb } from "../proc-stats.js";
import { round, scenarioFromRuns, skipped, type ScenarioResult } from "../report.js";
import { seed, seededEmail } from "../seed.js";
import { startAuthProcess, startUserProcess } from "../services.js";
import { messageOf } from "./tokens.js";

const limitMb = 150;
/**
 * "Under 150 MB in every full run, with margin": a run-to-run spread of a few MB is normal, so a
 * peak is counted as met only at least 5% under the limit (below 142.5 MB).
 */
const marginFraction = 0.05;

export async function memoryScenario(ctx: BenchContext, count = 1_000_000): Promise<ScenarioResult> {
  const name = "memory-1m";
  ctx.log(`${name}: seeding ${count} users and sessions`);
  let seeded: Awaited<ReturnType<typeof seed>>;
  try {
    seeded = await seed(ctx.databases.auth.url, ctx.databases.user.url, count);
  } catch (error) {
    return skipped(name, `seeding failed (a table or column it needs may not exist yet): ${messageOf(error)}`);
  }
  ctx.log(`${name}: seeded in ${seeded.seconds} s: ${JSON.stringify(seeded.tables)}; restarting the services`);
  await ctx.user?.stop();
  await ctx.auth.stop();
  ctx.auth = await startAuthProcess({
    databaseUrl: ctx.databases.auth.url,
    natsUrl: ctx.infra.natsUrl,
    port: ctx.auth.port,
    nodeFlags: ctx.serviceNodeFlags,
  });
  if (ctx.user) {
    ctx.user = await startUserProcess({
      databaseUrl: ctx.databases.user.url,
      natsUrl: ctx.infra.natsUrl,
      authBaseUrl: ctx.auth.baseUrl,
      port: ctx.user.port,
      nodeFlags: ctx.serviceNodeFlags,
    });
  }
  const processes: NodeProcess[] = ctx.user ? [ctx.auth, ctx.user] : [ctx.auth];
  const client = ctx.clients[0]!;
  const inbox = await jetStreamInbox(ctx.infra.natsUrl);
  const sessions: Session[] = [];
  let next = 1 + Math.floor(Math.random() * (count - 10_000));
  try {
    const run = await measuredLoad(
      ctx,
      processes,
      client.kind,
      16,
      {
        durationMs: runSeconds(ctx, "flow") * 1000,
        async op(index) {
          // Mostly reads of existing sessions, as in real traffic; every fourth op signs a seeded user in.
          if (index % 4 === 0 || sessions.length === 0) {
            const i = next++;
            sessions.push(await signIn(client, inbox, { email: seededEmail(i), deviceId: `seed-device-${i}` }));
            return;
          }
          const session = sessions[index % sessions.length]!;
          if (index % 4 === 1) await client.getMe(session.accessToken).catch(() => undefined);
          else if (index % 4 === 2) await client.validateToken(session.accessToken).catch(() => undefined);
          else
            await client.refresh(session.refreshToken, session.deviceId).then(
              (t) => (session.refreshToken = t.refreshToken),
              () => undefined,
            );
        },
      },
      "mixed: 1/4 sign-ins of seeded users, GetMe, ValidateToken, RefreshToken",
    );
    // Peak since each process started (its start included), not only during the run.
    const peaks = Object.fromEntries(processes.map((proc) => [proc.name, round(peakRssMb(proc.pid), 1)]));
    const peak = Math.max(...Object.values(peaks));
    const row = scenarioFromRuns(name, [run]);
    return {
      ...row,
      peak_rss_mb: peak,
      baseline: `${limitMb} MB per service`,
      ratio_to_baseline: round(peak / limitMb, 2),
      ratio_meaning: "highest service peak RSS / 150 MB",
      target: `each service < ${limitMb} MB RSS at peak with 1M users and 1M sessions, with a margin of ${marginFraction * 100}% (< ${limitMb * (1 - marginFraction)} MB)`,
      met: peak < limitMb * (1 - marginFraction),
      extra: { peak_rss_mb_by_service: peaks, under_limit_mb: round(limitMb - peak, 1), seeded },
      notes: ["peak RSS = VmHWM since the service process started (after seeding), through the load"],
    };
  } catch (error) {
    return skipped(name, `failed: ${messageOf(error)}`);
  } finally {
    await inbox.close();
  }
}
