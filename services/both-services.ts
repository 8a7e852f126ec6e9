import { startAuthService, type AuthServiceHandle, type AuthServiceOverrides } from "./auth/app.js";
import { loadAuthConfig } from "./auth/config.js";
import { createLogger } from "./shared/logging.js";
import { startUserService, type UserServiceHandle, type UserServiceOverrides } from "./user/app.js";
import { loadUserConfig } from "./user/config.js";

export interface BothServices {
  auth: AuthServiceHandle;
  user: UserServiceHandle;
  close(): Promise<void>;
}

/**
 * Both services in one process (`npm start`), configured by one environment. Unless AUTH_JWKS_URL
 * says otherwise, the user service fetches the access-token keys from the auth service started
 * here, on the port it actually bound: `AUTH_PORT=6000 npm start` needs no second setting.
 */
export async function startBothServices(
  env: Record<string, string | undefined>,
  overrides: { auth?: AuthServiceOverrides; user?: UserServiceOverrides } = {},
): Promise<BothServices> {
  const authConfig = loadAuthConfig(env);
  loadUserConfig(env); // a bad user setting stops the process before anything starts
  const auth = await startAuthService(authConfig, createLogger("auth", authConfig.LOG_LEVEL), overrides.auth);
  try {
    const userEnv = env.AUTH_JWKS_URL ? env : { ...env, AUTH_JWKS_URL: localJwksUrl(authConfig.HOST, auth.port) };
    const userConfig = loadUserConfig(userEnv);
    const user = await startUserService(userConfig, createLogger("user", userConfig.LOG_LEVEL), overrides.user);
    return { auth, user, close: async () => void (await Promise.all([auth.close(), user.close()])) };
  } catch (error) {
    await auth.close();
    throw error;
  }
}

/** The JWKS URL of an auth service listening on `host`:`port`, as a caller on the same machine reaches it. */
export function localJwksUrl(host: string, port: number): string {
  // A wildcard address says where to listen, not where to connect: use the loopback of its family.
  const target = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  const url = new URL("http://localhost/.well-known/jwks.json");
  url.hostname = target.includes(":") ? `[${target}]` : target;
  url.port = String(port);
  return url.toString();
}
