// Diagnostic: how many SQL statements (and write transactions) each RPC of the sign-in path costs.
// Starts its own Postgres and NATS, turns on log_statement=all, runs N of each RPC in turn and
// counts the statements Postgres logged during each phase.
// `npx tsx test/bench/count-statements.ts [N]` (after `npm run build`).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { adminQuery } from "../support/postgres.js";
import { TEST_ROOT_ENV } from "../support/server-process.js";
import { connectClient } from "./clients.js";
import { jetStreamInbox } from "./code-inbox.js";
import { freshAccount, type Session } from "./flows.js";
import { startInfra } from "./infra.js";
import { CommitCounter } from "./measure.js";
import { startAuthProcess, startUserProcess } from "./services.js";

const n = Number(process.argv[2] ?? 20);
const infra = await startInfra(() => undefined);
const counter = await CommitCounter.open(infra.adminUrl);
try {
  const authDb = await infra.createDatabase("auth");
  const userDb = await infra.createDatabase("user");
  const auth = await startAuthProcess({ databaseUrl: authDb.url, natsUrl: infra.natsUrl });
  const user = await startUserProcess({ databaseUrl: userDb.url, natsUrl: infra.natsUrl, authBaseUrl: auth.baseUrl });
  const client = connectClient(auth.baseUrl, user.baseUrl);
  const inbox = await jetStreamInbox(infra.natsUrl);
  await adminQuery(infra.adminUrl, "alter system set log_statement = 'all'");
  await adminQuery(infra.adminUrl, "select pg_reload_conf()");
  const root = process.env[TEST_ROOT_ENV]!;
  const pgDir = readdirSync(root).find((name) => name.startsWith("pg-"))!;
  const logFile = join(root, pgDir, "postgres.log");
  const logLines = () => readFileSync(logFile, "utf8").split("\n");
  const statementLines = (lines: string[]) => lines.filter((line) => /LOG:\s+(statement|execute [^:]*):/.test(line));
  await new Promise((resolve) => setTimeout(resolve, 300));

  const phase = async (label: string, op: (i: number) => Promise<void>) => {
    await new Promise((resolve) => setTimeout(resolve, 600)); // let background work (relay polls) show as such
    const before = logLines().length;
    const xidBefore = await counter.writeTransactions();
    const began = Date.now();
    for (let i = 0; i < n; i++) await op(i);
    const elapsed = Date.now() - began;
    const lines = statementLines(logLines().slice(before));
    const xids = (await counter.writeTransactions()) - xidBefore;
    const kinds = new Map<string, number>();
    for (const line of lines) {
      const sql = line
        .replace(/^.*?(statement|execute [^:]*): /, "")
        .trim()
        .slice(0, 60)
        .toLowerCase();
      const key = sql.split(/\s+/).slice(0, 3).join(" ");
      kinds.set(key, (kinds.get(key) ?? 0) + 1);
    }
    const top = [...kinds]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([k, c]) => `${(c / n).toFixed(1)} ${k}`);
    process.stdout.write(
      `${label}: ${(lines.length / n).toFixed(1)} statements and ${(xids / n).toFixed(1)} write transactions per call (${elapsed} ms for ${n}, background relay polls included)\n  ${top.join("\n  ")}\n`,
    );
  };

  const accounts = Array.from({ length: n }, () => freshAccount("count"));
  const codes: string[] = [];
  const tokens: string[] = [];
  const sessions: Session[] = [];
  // First sign-in of each account (new users), untimed, so the counted phases are returning users.
  for (const account of accounts) {
    await client.sendOtp(account.email, account.deviceId);
    const vt = await client.verifyOtp(account.email, await inbox.code(account.email));
    await client.login(vt, account.deviceId);
  }
  await phase("SendOtp", async (i) => {
    await client.sendOtp(accounts[i]!.email, accounts[i]!.deviceId);
    codes[i] = await inbox.code(accounts[i]!.email);
  });
  await phase("VerifyOtp", async (i) => {
    tokens[i] = await client.verifyOtp(accounts[i]!.email, codes[i]!);
  });
  await phase("Login (returning user)", async (i) => {
    sessions[i] = { ...(await client.login(tokens[i]!, accounts[i]!.deviceId)), deviceId: accounts[i]!.deviceId };
  });
  await phase("RefreshToken", async (i) => {
    const s = sessions[i]!;
    const t = await client.refresh(s.refreshToken, s.deviceId);
    s.refreshToken = t.refreshToken;
    s.accessToken = t.accessToken;
  });
  await phase("ValidateToken", async (i) => {
    await client.validateToken(sessions[i]!.accessToken);
  });
  await client.createUser(sessions[0]!.accessToken, `count_${Date.now().toString(36)}`, "Count");
  await phase("GetMe", async () => {
    await client.getMe(sessions[0]!.accessToken);
  });
  await phase("(idle: background only)", async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
  });
  await inbox.close();
  await user.stop();
  await auth.stop();
} finally {
  await counter.close();
  await infra.close();
}
process.exit(0);
