import { createLogger } from "../shared/logging.js";
import { runUntilSignalled } from "../shared/run-until-signalled.js";
import { startAuthService } from "./app.js";
import { loadAuthConfig } from "./config.js";

// Entry point of one AuthService process: `node dist/services/auth/main.js`.
await runUntilSignalled("auth", async () => {
  const config = loadAuthConfig();
  return startAuthService(config, createLogger("auth", config.LOG_LEVEL));
});
