import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Structured JSON logs. Anything that can hold a secret is redacted by key wherever it appears, so a
 * careless `log.info({ req })` cannot leak a token; codes are never logged except by the `log` OTP
 * delivery, which exists to do exactly that on a developer's machine.
 */
export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          "*.authorization",
          "*.password",
          "*.newPassword",
          "*.accessToken",
          "*.refreshToken",
          "*.verificationToken",
          "*.clientSecret",
          "*.client_secret",
          "*.token",
          "authorization",
          "password",
          "token",
          "clientSecret",
        ],
        censor: "[redacted]",
      },
    },
    destination,
  );
}
