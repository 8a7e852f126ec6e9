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
import { freshAccount, type Session, signIn, signInSteps } from "./flows.js";
import { startInfra } from "./infra.js";
import { CommitCounter } from "./measure.js";
import { startBothServices } from "./services.js";

const n = Number(process.argv[2] ?? 20);
const infra = await startInfra(() => undefined);
const counter = await CommitCounter.open(infra.adminUrl);
try {
  const { auth, user } = await startBothServices(infra);
  const client = connectClient(auth.baseUrl, user.baseUrl);
  const inbox = await jetStreamInbox(infra.natsUrl);
  await adminQuery(infra.adminUrl, "alter system set log_statement = 'all'");
  await adminQuery(infra.adminUrl, "select pg_reload_conf()");
  const root = process.env[TEST_ROOT_ENV]!;
  const pgDir = readdirSync(root).find((name) => name.startsWith("pg-"))!;
  const logFile = join(root, pgDir, "postgres.log");
  const logLines = () => readFileSync(logFile, "utf8").split("\n");
  // A statement's log entry is its LOG line plus the lines of a multi-line SQL text after it (those
  // carry no log prefix): join them, so a statement is named by its first words, not an empty line.
  const logEntry = /LOG:\s+(statement|execute [^:]*):/;
  const hasPrefix = /^\d{4}-\d\d-\d\d |^\s*(LOG|DETAIL|STATEMENT|ERROR|WARNING|HINT|CONTEXT):/;
  const statementLines = (lines: string[]) => {
    const statements: string[] = [];
    let current: string | undefined;
    for (const line of lines) {
      if (logEntry.test(line)) {
        if (current !== undefined) statements.push(current);
        current = line;
      } else if (current !== undefined && !hasPrefix.test(line)) {
        current += ` ${line.trim()}`;
      } else if (current !== undefined) {
        statements.push(current);
        current = undefined;
      }
    }
    if (current !== undefined) statements.push(current);
    return statements;
  };
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
    const texts = lines.map((line) =>
      line
        .replace(/^.*?(statement|execute [^:]*): /, "")
        .replace(/\s+/g, " ")
        .trim()
        .toLowerCase(),
    );
    for (const sql of texts) {
      const key = sql.slice(0, 80).split(" ").slice(0, 4).join(" ");
      kinds.set(key, (kinds.get(key) ?? 0) + 1);
    }
    const top = [...kinds]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([k, c]) => `${(c / n).toFixed(1)} ${k}`);
    const relay = relayStatements(lines, texts);
    const beginCommit = texts.filter((sql) => /^(begin|commit|rollback)\b/.test(sql)).length;
    const per = (count: number) => (count / n).toFixed(1);
    process.stdout.write(
      `${label}: ${per(lines.length)} statements per call (${per(lines.length - relay)} the RPC's, ${per(relay)} the outbox relay's), ${per(beginCommit)} of them BEGIN/COMMIT; ${per(xids)} write transactions per call (${elapsed} ms for ${n})\n  ${top.join("\n  ")}\n`,
    );
  };

  /**
   * How many of the statements are the outbox relay's: its transactions (BEGIN, the claim, COMMIT,
   * told apart by the claim) and its purge, followed per backend (the log prefix's [pid]).
   */
  const relayStatements = (lines: string[], texts: string[]) => {
    let relay = 0;
    const open = new Map<string, string[]>();
    texts.forEach((sql, index) => {
      const pid = /\[(\d+)\]/.exec(lines[index] ?? "")?.[1] ?? "?";
      const inTransaction = open.get(pid);
      if (sql.startsWith("begin")) open.set(pid, [sql]);
      else if (inTransaction) {
        inTransaction.push(sql);
        if (/^(commit|rollback)\b/.test(sql)) {
          if (inTransaction.some((statement) => statement.startsWith("with claimed as"))) relay += inTransaction.length;
          open.delete(pid);
        }
      } else if (sql.startsWith("with claimed as") || sql.startsWith('delete from "outbox"')) relay += 1;
    });
    return relay;
  };

  const accounts = Array.from({ length: n }, () => freshAccount("count"));
  const steps = signInSteps(client, inbox, accounts);
  const sessions: Session[] = [];
  // First sign-in of each account (new users), untimed, so the counted phases are returning users.
  for (const account of accounts) await signIn(client, inbox, account);
  await phase("SendOtp", steps.sendOtp);
  await phase("VerifyOtp", steps.verifyOtp);
  await phase("Login (returning user)", async (i) => {
    sessions[i] = await steps.login(i);
  });
  await phase("RefreshToken", async (i) => {
    const s = sessions[i]!;
    const t = await client.refresh(s.refreshToken, s.deviceId, s.ip);
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
