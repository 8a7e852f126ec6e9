// Both services in this process, each on its own test database, sharing one NATS: the whole
// identity core as a client meets it. The user service verifies tokens with the auth service's JWKS.
import type { AuthServiceHandle, AuthServiceOverrides } from "../../../services/auth/app.js";
import type { UserServiceHandle } from "../../../services/user/app.js";
import {
  connectAuthClient,
  connectUserClient,
  startAuth,
  startUser,
  type RunningService,
} from "../../fixtures/services.js";
import { createTestDatabase, startNats, type NatsInstance, type TestDatabase } from "../../support/index.js";
import type { WorkloadTarget } from "./workload.js";

type Env = Record<string, string | undefined>;

export interface Stack {
  auth: RunningService<AuthServiceHandle>;
  user: RunningService<UserServiceHandle>;
  authDatabase: TestDatabase;
  userDatabase: TestDatabase;
  nats: NatsInstance;
  authEnv: Env;
  userEnv: Env;
  close(): Promise<void>;
}

export interface StackOptions {
  authEnv?: Env;
  userEnv?: Env;
  authOverrides?: AuthServiceOverrides;
  /** An already running NATS (e.g. one the test stops and starts); otherwise one is started. */
  nats?: NatsInstance;
  /** Databases elsewhere (e.g. on a Postgres the test restarts); otherwise new ones on the run's cluster. */
  databases?: { auth: TestDatabase; user: TestDatabase };
}

/** Limits high enough that a fuzz or race test measures the behaviour under test, not the send limit. */
export const generousLimits: Env = {
  OTP_RATE_LIMIT_MAX_REQUESTS: "1000000",
  OTP_IP_RATE_LIMIT_MAX_REQUESTS: "1000000",
  OTP_GLOBAL_SEND_BUDGET: "1000000",
};

/** The workload's view of a stack: Connect clients of both services, and where codes are read. */
export function workloadTarget(
  stack: { auth: { baseUrl: string }; user: { baseUrl: string } },
  codeFor: WorkloadTarget["codeFor"],
): WorkloadTarget {
  return { auth: connectAuthClient(stack.auth.baseUrl), users: connectUserClient(stack.user.baseUrl), codeFor };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const [authDatabase, userDatabase, nats] = await Promise.all([
    options.databases?.auth ?? createTestDatabase(),
    options.databases?.user ?? createTestDatabase(),
    options.nats ?? startNats(),
  ]);
  const authEnv: Env = {
    AUTH_DATABASE_URL: authDatabase.url,
    NATS_URL: nats.url,
    OTP_DELIVERY: "nats",
    ...options.authEnv,
  };
  const auth = await startAuth(authEnv, options.authOverrides);
  const userEnv: Env = {
    USER_DATABASE_URL: userDatabase.url,
    NATS_URL: nats.url,
    AUTH_JWKS_URL: `${auth.baseUrl}/.well-known/jwks.json`,
    ...options.userEnv,
  };
  const user = await startUser(userEnv);
  return {
    auth,
    user,
    authDatabase,
    userDatabase,
    nats,
    authEnv,
    userEnv,
    async close() {
      await Promise.allSettled([user.close(), auth.close()]);
      if (!options.nats) await nats.stop();
      await Promise.allSettled([authDatabase.drop(), userDatabase.drop()]);
    },
  };
}
