// better-auth 1.7.25 as the side-by-side peer, in its own process on a plain node:http server
// (`node --import tsx better-auth-server.ts PORT DATABASE_URL`), on the same Postgres as our services
// (its own database). Settings: defaults, plus
// - session.cookieCache (its documented performance setting: get-session answers from a signed cookie);
// - emailOTP with storeOTP "hashed" (we store codes only as an HMAC; equal footing);
// - rateLimit disabled: the benchmark signs everyone in from one IP, and its limiter (on with
//   NODE_ENV=production) would put every request in one bucket;
// - telemetry off, logs at error.
// Schema: created programmatically (getMigrations), because its CLI needs Node >= 22.12.
// Codes go to the parent process over IPC, the cheapest "delivery" there is.
import http from "node:http";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { emailOTP } from "better-auth/plugins";
import pg from "pg";

const [portText, databaseUrl] = process.argv.slice(2);
const port = Number(portText);
const baseURL = `http://127.0.0.1:${port}`;

const auth = betterAuth({
  baseURL,
  secret: process.env.BETTER_AUTH_SECRET ?? "bench-secret-bench-secret-bench-secret-0123",
  database: new pg.Pool({ connectionString: databaseUrl, max: 10 }),
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
  logger: { level: "error" },
  session: { cookieCache: { enabled: true, maxAge: 300 } },
  plugins: [
    emailOTP({
      storeOTP: "hashed",
      async sendVerificationOTP({ email, otp }) {
        process.send?.({ email, otp });
      },
    }),
  ],
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const server = http.createServer(toNodeHandler(auth));
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
process.send?.({ ready: true });
process.on("SIGTERM", () => server.close(() => process.exit(0)));
