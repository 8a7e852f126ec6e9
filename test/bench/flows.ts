// The sign-in flow as a person goes through it (send a code, read it where it was delivered, verify
// it, log in), and the pools of returning users the sign-in scenarios measure.
import type { BenchClient, SignedIn } from "./clients.js";
import type { CodeInbox } from "./code-inbox.js";
import { freshEmail } from "./context.js";

export interface Account {
  email: string;
  deviceId: string;
}

export interface Session extends SignedIn {
  deviceId: string;
}

export async function signIn(client: BenchClient, inbox: CodeInbox, account: Account): Promise<Session> {
  await client.sendOtp(account.email, account.deviceId);
  const code = await inbox.code(account.email);
  const verificationToken = await client.verifyOtp(account.email, code);
  return { ...(await client.login(verificationToken, account.deviceId)), deviceId: account.deviceId };
}

export function freshAccount(label: string): Account {
  const email = freshEmail(label);
  return { email, deviceId: `bench-device-${email.split("@")[0]}` };
}

/** Signs one new account in, proving every RPC the sign-in scenarios use answers (a failure skips them). */
export async function probeSignIn(client: BenchClient, inbox: CodeInbox, label: string): Promise<Session> {
  return signIn(client, inbox, freshAccount(label));
}
