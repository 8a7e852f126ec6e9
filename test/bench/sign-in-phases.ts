// Diagnostic: what each RPC of a returning user's sign-in costs the services in CPU, beside the empty
// RPC on the same port. Starts its own Postgres and NATS and the built services, signs N fresh
// accounts in once (so they return), then runs N of each RPC in turn, 16 in flight (or the third
// argument), one phase per RPC: Health/Check, SendOtp (each code read from JetStream by the client,
// as the sign-in does), VerifyOtp, Login. A phase's CPU counts until the services are idle again, so
// the outbox relay's and the user service's share of its events is in it. Beside the CPU, the read
// and write system calls of each service per call (sockets included: Postgres, NATS, the client).
// `npx tsx test/bench/sign-in-phases.ts [N] [grpc-js|connect] [in flight]` (after `npm run build`).
import { type BenchClient, connectClient, grpcJsClient } from "./clients.js";
import { jetStreamInbox } from "./code-inbox.js";
import { freshAccount, signIn, signInSteps } from "./flows.js";
import { startInfra } from "./infra.js";
import { runLoad } from "./load.js";
import { CommitCounter, measure } from "./measure.js";
import { ioSyscalls, untilCpuIdle } from "./proc-stats.js";
import { startBothServices } from "./services.js";

const n = Number(process.argv[2] ?? 500);
const kind = process.argv[3] ?? "grpc-js";
const inFlight = Number(process.argv[4] ?? 16);
if (kind !== "grpc-js" && kind !== "connect") throw new Error(`client must be grpc-js or connect, not ${kind}`);
if (!Number.isInteger(inFlight) || inFlight < 1)
  throw new Error(`calls in flight must be a whole number from 1, not ${process.argv[4]}`);

const infra = await startInfra(() => undefined);
const counter = await CommitCounter.open(infra.adminUrl);
try {
  const { auth, user } = await startBothServices(infra);
  const processes = [auth, user];
  const client: BenchClient =
    kind === "grpc-js" ? grpcJsClient(auth.address, user.address) : connectClient(auth.baseUrl, user.baseUrl);
  const inbox = await jetStreamInbox(infra.natsUrl);
  const accounts = Array.from({ length: n }, (_, i) => freshAccount(`phase${i}`));

  // Each account once, so that the measured sign-ins are of returning users (and the code paths warm).
  await everyAccount((i) => signIn(client, inbox, accounts[i]!).then(() => undefined));
  await untilIdle();

  const steps = signInSteps(client, inbox, accounts);
  const phases: Array<[string, (i: number) => Promise<unknown>]> = [
    ["Health/Check", () => client.health()],
    ["SendOtp", steps.sendOtp],
    ["VerifyOtp", steps.verifyOtp],
    ["Login", steps.login],
  ];
  console.log(
    `${kind}, ${n} calls of each RPC, ${inFlight} in flight; per call: CPU ms (auth, user), commits, read/write system calls (auth, user):`,
  );
  for (const [name, call] of phases) {
    const syscallsBefore = processes.map((proc) => ioSyscalls(proc.pid));
    const { costs } = await measure(processes, counter, async () => {
      await everyAccount(call);
      await untilIdle();
    });
    const syscalls = processes.map((proc, index) => {
      const after = ioSyscalls(proc.pid);
      const before = syscallsBefore[index]!;
      return `${((after.reads - before.reads) / n).toFixed(2)}/${((after.writes - before.writes) / n).toFixed(2)}`;
    });
    const perCall = (seconds: number) => ((1000 * seconds) / n).toFixed(3);
    console.log(
      `  ${name.padEnd(12)} auth ${perCall(costs.cpuSeconds[auth.name]!)}  user ${perCall(costs.cpuSeconds[user.name]!)}  commits ${(costs.commits / n).toFixed(2)}  syscalls auth ${syscalls[0]}  user ${syscalls[1]}`,
    );
  }
  client.close();
  await inbox.close();
  await user.stop();
  await auth.stop();

  async function everyAccount(op: (i: number) => Promise<unknown>): Promise<void> {
    const result = await runLoad({
      concurrency: inFlight,
      durationMs: 600_000,
      maxOps: n,
      op: async (i) => {
        await op(i);
      },
    });
    if (result.errors > 0) throw new Error(`${result.errors} calls failed, the first: ${result.firstError}`);
  }

  /** Until the relay and the consumers are done: no CPU tick in 200 ms, for at most 5 s. */
  async function untilIdle(): Promise<void> {
    await untilCpuIdle(
      processes.map((proc) => proc.pid),
      200,
      5000,
    );
  }
} finally {
  await counter.close();
  await infra.close();
}
