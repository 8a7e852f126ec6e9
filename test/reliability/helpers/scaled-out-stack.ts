// The identity core scaled out as README "Scaling out" describes it: two instances of each service
// on one database per service and one NATS cluster, each pair behind one address (a TCP balancer),
// so clients, and the user service's calls to the auth service (JWKS, ValidateToken), see one
// address per service whichever instance answers.
import type { AuthServiceHandle } from "../../../services/auth/app.js";
import type { UserServiceHandle } from "../../../services/user/app.js";
import { startAuth, startUser, type RunningService } from "../../fixtures/services.js";
import { createTestDatabase, startTcpBalancer, type TcpBalancer, type TestDatabase } from "../../support/index.js";

type Env = Record<string, string | undefined>;

export interface ScaledOutStack {
  auth: RunningService<AuthServiceHandle>[];
  users: RunningService<UserServiceHandle>[];
  /** The one address of the auth service. */
  authBalancer: TcpBalancer;
  /** The one address of the user service. */
  userBalancer: TcpBalancer;
  authDatabase: TestDatabase;
  userDatabase: TestDatabase;
  close(): Promise<void>;
}

export interface ScaledOutOptions {
  /** NATS_URL: every server of the cluster. */
  natsUrl: string;
  /** NATS_STREAM_REPLICAS. */
  replicas: number;
  /** Instances of each service (default 2). */
  instances?: number;
  authEnv?: Env;
  userEnv?: Env;
}

const addressOf = (service: RunningService<unknown>) => {
  const url = new URL(service.baseUrl);
  return { host: url.hostname, port: Number(url.port) };
};

/** Starts the instances, waits until each has its streams, and puts a balancer in front of each service. */
export async function startScaledOutStack(options: ScaledOutOptions): Promise<ScaledOutStack> {
  const instances = options.instances ?? 2;
  const [authDatabase, userDatabase] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  const nats = { NATS_URL: options.natsUrl, NATS_STREAM_REPLICAS: String(options.replicas) };
  const started: RunningService<{ close(): Promise<void> }>[] = [];
  const balancers: TcpBalancer[] = [];
  const closeAll = async () => {
    await Promise.allSettled(balancers.map((balancer) => balancer.close()));
    await Promise.allSettled(started.reverse().map((service) => service.close()));
    await Promise.allSettled([authDatabase.drop(), userDatabase.drop()]);
  };
  try {
    const auth: RunningService<AuthServiceHandle>[] = [];
    // One after the other: the first applies the migrations, the others find them done.
    for (let i = 0; i < instances; i++) {
      const instance = await startAuth({
        AUTH_DATABASE_URL: authDatabase.url,
        OTP_DELIVERY: "nats",
        ...nats,
        ...options.authEnv,
      });
      started.push(instance);
      auth.push(instance);
    }
    const authBalancer = await startTcpBalancer(auth.map(addressOf));
    balancers.push(authBalancer);
    const users: RunningService<UserServiceHandle>[] = [];
    for (let i = 0; i < instances; i++) {
      const instance = await startUser({
        USER_DATABASE_URL: userDatabase.url,
        ...nats,
        // The JWKS and ValidateToken (AUTH_SERVICE_URL defaults to the JWKS URL's server) through the balancer.
        AUTH_JWKS_URL: `${authBalancer.baseUrl}/.well-known/jwks.json`,
        ...options.userEnv,
      });
      started.push(instance);
      users.push(instance);
    }
    const userBalancer = await startTcpBalancer(users.map(addressOf));
    balancers.push(userBalancer);
    // Each instance has created (or found) its streams with the replicas asked for.
    await Promise.all([...auth, ...users].map((service) => service.handle.runtime.nats?.ready));
    return { auth, users, authBalancer, userBalancer, authDatabase, userDatabase, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
