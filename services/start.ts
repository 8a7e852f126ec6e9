import { startBothServices } from "./both-services.js";
import { runUntilSignalled } from "./shared/run-until-signalled.js";

// `npm start`: both services in one process, for a developer's machine and small deployments.
// In production run them as separate processes (services/auth/main.ts, services/user/main.ts) so
// each scales on its own; nothing here is shared between them but the process.
await runUntilSignalled("mintcoin", () => startBothServices(process.env));
