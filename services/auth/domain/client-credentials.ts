import { timingSafeEqual } from "node:crypto";
import { formatScope, parseScope } from "../../shared/auth/scopes.js";
import { clientNetwork } from "../../shared/client-network.js";
import type { Clock } from "../../shared/clock.js";
import {
  InvalidArgumentError,
  PermissionDeniedError,
  RateLimitedError,
  UnauthenticatedError,
} from "../../shared/errors/domain-errors.js";
import type { Transact } from "../../shared/outbox/transact.js";
import { giveBackRateLimitHit, recordRateLimitHit } from "../store/rate-limit-store.js";
import type { AuthDatabase } from "../store/schema.js";
import { findClientCredentials, lockClientAuthGuard, writeClientAuthGuard } from "../store/service-account-store.js";
import { hashOpaqueToken } from "./opaque-tokens.js";
import { afterWrongCode, lockRemainingMs, type LockoutPolicy } from "./otp-lockout.js";
import type { ServiceTokenIssuer } from "./service-tokens.js";

/** Why a client authentication failed, for the failure metric (never told to the client). */
export type ClientAuthFailure = "unknown_client" | "wrong_secret" | "disabled" | "locked" | "ip_limited";

export interface ClientCredentialsDeps {
  transact: Transact<AuthDatabase>;
  clock: Clock;
  tokens: ServiceTokenIssuer;
  /** Failed authentications per client id and client address: the doubling lockout of passwords. */
  lockout: LockoutPolicy;
  /** Failed authentications per client address, across client ids, within a sliding window. */
  ipLimit: { windowMs: number; maxFailures: number };
  /** Told of every failed or refused client authentication (the metric). */
  onFailure?: (reason: ClientAuthFailure) => void;
}

export interface ClientCredentialsRequest {
  clientId: string;
  clientSecret: string;
  /** The `scope` parameter as sent: space-separated, or empty for every scope the account holds. */
  scope: string;
  /** The client's address, for the limits (counted by its network: shared/client-network.ts). */
  ip: string;
}

export interface ServiceTokenGrant {
  accessToken: string;
  expiresIn: number;
  /** The scopes granted, space-separated. */
  scope: string;
}

export type ClientCredentialsGrant = ReturnType<typeof createClientCredentialsGrant>;

type Checked =
  | { kind: "ok"; scopes: string[] }
  | { kind: "failed"; reason: ClientAuthFailure }
  | { kind: "locked"; retryAfterMs: number };

/** One answer for an unknown client id, a wrong secret and a disabled account. */
const invalidClient = () =>
  new UnauthenticatedError(
    "client authentication failed: unknown client, wrong secret or disabled account",
    "CLIENT_INVALID",
  );

/** Compared against when the client id is unknown, so every failure runs the same comparison. */
const noSecretHash = new Uint8Array(32);

/**
 * The OAuth 2.0 client credentials grant (RFC 6749 section 4.4), behind both POST /oauth2/token and
 * AuthService.IssueServiceToken. The secret check is a SHA-256 and a constant-time comparison, so
 * it runs inside one short transaction under the guard row's lock: an attempt is counted on the
 * client's address in advance and given back when the secret is right, so the limits are exact
 * under any concurrency. Failures lock the client id for that address only (after `threshold`
 * failures, doubling up to the maximum): a client id is not a secret, and a stranger must not be
 * able to lock the real service out, while 256-bit secrets cannot be guessed anyway.
 *
 * The scope is checked after the client: `scope` must name only scopes the account holds; empty
 * means all of them.
 */
export function createClientCredentialsGrant(deps: ClientCredentialsDeps) {
  const { clock } = deps;

  async function check(request: ClientCredentialsRequest): Promise<Checked> {
    // Counted per client network (an IPv6 client holds a whole /64), as every per-IP limit is.
    const network = clientNetwork(request.ip);
    const guardKey = `${request.clientId} ${network}`;
    const ipKey = `client-auth-fail:ip:${network}`;
    const presentedHash = hashOpaqueToken(request.clientSecret);
    return deps.transact(async (trx): Promise<Checked> => {
      const now = clock.now();
      // Guard first, then the address: every writer takes the two row locks in this order.
      const guard = await lockClientAuthGuard(trx, guardKey, now);
      const lockedMs = lockRemainingMs(guard, now);
      if (lockedMs > 0) return { kind: "locked", retryAfterMs: lockedMs };
      const hit = await recordRateLimitHit(trx, ipKey, now, deps.ipLimit.windowMs);
      // Thrown inside: the hit is rolled back, nothing is counted.
      if (hit.count > deps.ipLimit.maxFailures) throw ipLimited(hit.oldest, now);
      const account = await findClientCredentials(trx, request.clientId);
      const secretMatches =
        timingSafeEqual(presentedHash, account?.secretHash ?? noSecretHash) && account !== undefined;
      if (account && secretMatches && !account.disabled) {
        await giveBackRateLimitHit(trx, ipKey, now);
        if (guard.failures > 0) {
          await writeClientAuthGuard(trx, guardKey, { failures: 0, lockedUntil: null, lastFailureAt: null }, now);
        }
        return { kind: "ok", scopes: account.scopes };
      }
      await writeClientAuthGuard(trx, guardKey, afterWrongCode(guard, now, deps.lockout), now);
      return { kind: "failed", reason: !account ? "unknown_client" : !secretMatches ? "wrong_secret" : "disabled" };
    });
  }

  async function grant(request: ClientCredentialsRequest): Promise<ServiceTokenGrant> {
    let checked: Checked;
    try {
      checked = await check(request);
    } catch (error) {
      if (error instanceof RateLimitedError) deps.onFailure?.("ip_limited");
      throw error;
    }
    if (checked.kind === "locked") {
      deps.onFailure?.("locked");
      const seconds = Math.max(1, Math.ceil(checked.retryAfterMs / 1000));
      throw new RateLimitedError(
        checked.retryAfterMs,
        `too many failed authentications of this client from this address; retry in ${seconds} s`,
        "CLIENT_AUTH_LOCKED",
      );
    }
    if (checked.kind === "failed") {
      deps.onFailure?.(checked.reason);
      throw invalidClient();
    }
    const scopes = grantedScopes(request.scope, checked.scopes);
    const issued = deps.tokens.issue({ clientId: request.clientId, scope: formatScope(scopes) }, clock.now());
    return { accessToken: issued.token, expiresIn: issued.expiresIn, scope: formatScope(scopes) };
  }

  function ipLimited(oldest: Date, now: Date): RateLimitedError {
    const retryAfterMs = oldest.getTime() + deps.ipLimit.windowMs - now.getTime();
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return new RateLimitedError(
      retryAfterMs,
      `too many failed client authentications from this network; retry in ${seconds} s`,
      "CLIENT_AUTH_IP_LIMITED",
    );
  }

  return { grant };
}

/** The scopes a token gets: those asked for, each held by the account; none asked for: all it holds. */
function grantedScopes(requested: string, held: string[]): string[] {
  const asked = parseScope(requested);
  if (asked === undefined) {
    throw new InvalidArgumentError("scope", "scope: space-separated scope names (RFC 6749 section 3.3)");
  }
  if (asked.length === 0) return held;
  const notHeld = asked.filter((scope) => !held.includes(scope));
  if (notHeld.length > 0) {
    throw new PermissionDeniedError(
      `this client may not ask for the scope ${notHeld.join(" ")}; it holds: ${formatScope(held)}`,
      "SCOPE_NOT_GRANTED",
    );
  }
  return asked;
}
