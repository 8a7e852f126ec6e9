/**
 * Whether an error means a dependency (Postgres) is unreachable or restarting, which a client should
 * retry (UNAVAILABLE), as opposed to a bug (INTERNAL).
 */
const unavailableNodeCodes = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN"]);

export function isDependencyUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") {
      if (unavailableNodeCodes.has(code)) return true;
      // SQLSTATE class 08 (connection exception), 57P01-57P03 (shutdown / cannot connect now),
      // 40001/40P01 (serialization failure / deadlock: safe to retry).
      if (code.startsWith("08") || /^57P0[123]$/.test(code) || code === "40001" || code === "40P01") return true;
    }
    if (
      /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
        current.message,
      )
    ) {
      return true;
    }
    current = current.cause;
  }
  return false;
}
