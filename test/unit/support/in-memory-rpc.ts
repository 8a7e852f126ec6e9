import { type ConnectRouter, createRouterTransport, type Interceptor, type Transport } from "@connectrpc/connect";
import {
  isServicePrincipal,
  type Principal,
  principalKey,
  type ServicePrincipal,
  servicePrincipalKey,
  type VerifiedCaller,
} from "../../../services/shared/auth/principal.js";
import { createLogger, type Logger } from "../../../services/shared/logging.js";
import { requestInfoFrom, requestInfoKey } from "../../../services/shared/server/request-info.js";
import { rpcInterceptors } from "../../../services/shared/server/rpc-handler.js";

export interface InMemoryRpcOptions {
  /** Where the chain logs; silent unless a test reads the lines (capturedLogger). */
  logger?: Logger;
  /** The address the connection comes from. */
  peer?: string;
  /**
   * The signed-in caller (a person or a service account), as the authentication interceptor would
   * have put it in the context; a function is asked on every call, so one transport can serve
   * callers a test changes.
   */
  principal?: VerifiedCaller | (() => VerifiedCaller | undefined);
  /** Interceptors after the shared ones, as a service adds them (e.g. authentication). */
  interceptors?: Interceptor[];
}

/**
 * A transport to `routes` with no server: requests go through the same interceptor chain every
 * listener runs (logging, error mapping, .proto validation, text safety), in memory. The outermost
 * interceptor stands in for the Node adapter, which puts the request's transport facts in the
 * context values.
 */
export function inMemoryTransport(
  routes: (router: ConnectRouter) => void,
  options: InMemoryRpcOptions = {},
): Transport {
  const transportFacts: Interceptor = (next) => (request) => {
    const header = (name: string) => request.header.get(name) ?? undefined;
    request.contextValues.set(requestInfoKey, requestInfoFrom(options.peer ?? "203.0.113.7", header, new Set()));
    const principal = typeof options.principal === "function" ? options.principal() : options.principal;
    if (principal && isServicePrincipal(principal)) request.contextValues.set(servicePrincipalKey, principal);
    else if (principal) request.contextValues.set(principalKey, principal);
    return next(request);
  };
  const logger = options.logger ?? createLogger("unit-test", "silent");
  return createRouterTransport(routes, {
    router: { interceptors: [transportFacts, ...rpcInterceptors({ logger, interceptors: options.interceptors })] },
  });
}

/** A log line as pino writes it. */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** The services' own logger (with its redaction), writing to an array a test can read. */
export function capturedLogger(level = "debug"): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger("unit-test", level, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** A signed-in user, as a verified access token describes them. */
export function aPrincipal(overrides: Partial<Principal> = {}): Principal {
  return {
    userId: "0b7e4b8e-5d0c-4f7e-9a59-3f1f0c6f2a11",
    sessionId: "5f0f6a4e-1c1d-4a8e-9d5e-0c2b3a4d5e6f",
    deviceId: "device-1",
    tokenId: "token-1",
    roles: ["user"],
    phone: { value: "+447911123456", verified: true },
    email: undefined,
    expiresAt: new Date("2026-03-01T12:15:00Z"),
    authTime: undefined,
    amr: [],
    token: "eyJhbGciOiJFUzI1NiJ9.e30.sig",
    ...overrides,
  };
}

/** A service account calling with a client credentials token. */
export function aServicePrincipal(overrides: Partial<ServicePrincipal> = {}): ServicePrincipal {
  return {
    clientId: "svc_0123456789abcdef0123456789abcdef",
    scopes: ["users.read"],
    tokenId: "token-2",
    expiresAt: new Date("2026-03-01T12:05:00Z"),
    token: "eyJhbGciOiJFUzI1NiJ9.e30.sig",
    ...overrides,
  };
}
