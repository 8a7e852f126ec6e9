import { startAuthService } from "./auth/app.js";
import { loadAuthConfig } from "./auth/config.js";
import { createLogger } from "./shared/logging.js";
import { runUntilSignalled } from "./shared/run-until-signalled.js";
import { startUserService } from "./user/app.js";
import { loadUserConfig } from "./user/config.js";

// `npm start`: both services in one process, for a developer's machine and small deployments.
// In production run them as separate processes (services/auth/main.ts, services/user/main.ts) so
// each scales on its own; nothing here is shared between them but the process.
await runUntilSignalled("mintcoin", async () => {
  const authConfig = loadAuthConfig();
  const userConfig = loadUserConfig();
  const auth = await startAuthService(authConfig, createLogger("auth", authConfig.LOG_LEVEL));
  try {
    const user = await startUserService(userConfig, createLogger("user", userConfig.LOG_LEVEL));
    return { close: async () => void (await Promise.all([auth.close(), user.close()])) };
  } catch (error) {
    await auth.close();
    throw error;
  }
});
