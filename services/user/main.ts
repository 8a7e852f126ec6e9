import { createLogger } from "../shared/logging.js";
import { runUntilSignalled } from "../shared/run-until-signalled.js";
import { startUserService } from "./app.js";
import { loadUserConfig } from "./config.js";

// Entry point of one UserService process: `node dist/services/user/main.js`.
await runUntilSignalled("user", async () => {
  const config = loadUserConfig();
  return startUserService(config, createLogger("user", config.LOG_LEVEL));
});
