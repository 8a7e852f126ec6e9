import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import { UserService } from "../../../gen/mintcoin/user/v1/user_pb.js";
import type { PageConfig } from "./config.js";
import { deviceId, tokens } from "./tokens.js";

export interface Clients {
  /** SendOtp, VerifyOtp, Login, RefreshToken: public RPCs, sent without a token. */
  publicAuth: Client<typeof AuthService>;
  /** ListSessions, Logout: sent with the access token, renewed by the refresh token when needed. */
  auth: Client<typeof AuthService>;
  user: Client<typeof UserService>;
}

/** Thrown when the session is over (no refresh token, or the server refused it): sign in again. */
export class SignedOutError extends Error {}

export function createClients(config: PageConfig): Clients {
  const publicAuth = createClient(AuthService, createConnectTransport({ baseUrl: config.authUrl }));
  const renew = singleFlight(async () => {
    const refreshToken = tokens.refreshToken();
    if (refreshToken === null) throw new SignedOutError("not signed in");
    try {
      const { tokens: pair } = await publicAuth.refreshToken({ refreshToken, deviceId: deviceId() });
      if (!pair) throw new Error("RefreshToken answered without tokens");
      tokens.save(pair);
      return pair.accessToken;
    } catch (error) {
      // A refused refresh token is final (expired, revoked, reused): forget it. Anything else
      // (offline, server down) keeps it, so the next try can still succeed.
      if (
        error instanceof ConnectError &&
        (error.code === Code.Unauthenticated || error.code === Code.PermissionDenied)
      ) {
        tokens.clear();
        throw new SignedOutError(error.rawMessage);
      }
      throw error;
    }
  });
  const bearer = bearerInterceptor(renew);
  return {
    publicAuth,
    auth: createClient(AuthService, createConnectTransport({ baseUrl: config.authUrl, interceptors: [bearer] })),
    user: createClient(UserService, createConnectTransport({ baseUrl: config.userUrl, interceptors: [bearer] })),
  };
}

/**
 * Adds `authorization: Bearer <access token>`. With no fresh access token in memory (a reload, or
 * 15 minutes passed) it first renews it with the refresh token; a call refused as UNAUTHENTICATED
 * (the token expired in flight, or the key rotated) is renewed and retried once.
 */
function bearerInterceptor(renew: () => Promise<string>): Interceptor {
  return (next) => async (request) => {
    let renewed = false;
    let token = tokens.freshAccessToken();
    if (token === null) {
      token = await renew();
      renewed = true;
    }
    request.header.set("authorization", `Bearer ${token}`);
    try {
      return await next(request);
    } catch (error) {
      if (renewed || !(error instanceof ConnectError) || error.code !== Code.Unauthenticated) throw error;
      request.header.set("authorization", `Bearer ${await renew()}`);
      return await next(request);
    }
  };
}

/** Concurrent callers share one run: two calls that find the token stale must not rotate it twice. */
function singleFlight<T>(run: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | null = null;
  return () => {
    running ??= run().finally(() => {
      running = null;
    });
    return running;
  };
}
