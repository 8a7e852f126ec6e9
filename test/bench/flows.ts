// The sign-in flow as a person goes through it (send a code, read it where it was delivered, verify
// it, log in), and the pools of returning users the sign-in scenarios measure.
import type { BenchClient, SignedIn } from "./clients.js";
import type { CodeInbox } from "./code-inbox.js";
import { freshEmail } from "./context.js";

export interface Account {
  email: string;
  deviceId: string;
  /** The address the person calls from (X-Forwarded-For); none: 127.0.0.1, the benchmark's own. */
  ip?: string;
}

export interface Session extends SignedIn {
  deviceId: string;
  ip?: string;
}

export async function signIn(client: BenchClient, inbox: CodeInbox, account: Account): Promise<Session> {
  const steps = signInSteps(client, inbox, [account]);
  await steps.sendOtp(0);
  await steps.verifyOtp(0);
  return steps.login(0);
}

/**
 * The RPCs of a sign-in of each of `accounts` as separate steps, by account index, for the diagnostics
 * that measure each RPC apart (count-statements.ts, sign-in-phases.ts): run every account's sendOtp
 * (which also reads the code where it was delivered), then every verifyOtp, then every login.
 */
export function signInSteps(client: BenchClient, inbox: CodeInbox, accounts: Account[]) {
  const codes: string[] = [];
  const verificationTokens: string[] = [];
  return {
    async sendOtp(i: number): Promise<void> {
      const { email, deviceId, ip } = accounts[i]!;
      await client.sendOtp(email, deviceId, ip);
      codes[i] = await inbox.code(email);
    },
    async verifyOtp(i: number): Promise<void> {
      const { email, ip } = accounts[i]!;
      verificationTokens[i] = await client.verifyOtp(email, codes[i]!, ip);
    },
    async login(i: number): Promise<Session> {
      const { deviceId, ip } = accounts[i]!;
      return { ...(await client.login(verificationTokens[i]!, deviceId, ip)), deviceId, ip };
    },
  };
}

let addresses = 0;

/**
 * A new person: a fresh email address, a device of their own and an address of their own
 * (10.0.0.1 on). As in production, where people call from many networks, each network's row of the
 * per-IP send limit then holds a few sends. From one address, the row of 127.0.0.1 would hold every
 * send of the last 15 minutes (the limit raised for the benchmark), tens of thousands in a full
 * run, rewritten by Postgres at every SendOtp: milliseconds of its CPU per send on the same cores as
 * the services, which production never pays.
 */
export function freshAccount(label: string): Account {
  const email = freshEmail(label);
  addresses++;
  if (addresses >= 1 << 24) throw new Error("the benchmark ran out of addresses in 10.0.0.0/8");
  const ip = `10.${(addresses >> 16) & 255}.${(addresses >> 8) & 255}.${addresses & 255}`;
  return { email, deviceId: `bench-device-${email.split("@")[0]}`, ip };
}

/** Signs one new account in, proving every RPC the sign-in scenarios use answers (a failure skips them). */
export async function probeSignIn(client: BenchClient, inbox: CodeInbox, label: string): Promise<Session> {
  return signIn(client, inbox, freshAccount(label));
}
