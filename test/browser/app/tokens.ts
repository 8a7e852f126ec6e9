// How this page keeps its credentials (see the README's "Browser clients" section):
// - the access token lives only in memory (a variable of this module): script injected into the page
//   cannot read it from storage, and it is gone when the tab closes; at most 15 minutes of use leak;
// - the refresh token lives in memory and in sessionStorage, so a reload of this tab stays signed in
//   (RefreshToken mints a new access token) while other tabs and a restarted browser do not. In
//   production it belongs in an HttpOnly, Secure, SameSite=Strict cookie set by a thin
//   backend-for-frontend, because the services speak Connect/gRPC and set no cookies;
// - the device id is not a secret: localStorage, so this browser is one device across sign-ins.

const refreshKey = "mintcoin.refreshToken";
const deviceKey = "mintcoin.deviceId";

/** Seconds before expiry at which the access token counts as stale, so a call never races its expiry. */
const earlyRefreshMs = 30_000;

export interface TokenPairLike {
  accessToken: string;
  refreshToken: string;
  /** Lifetime of the access token in seconds from now. */
  expiresIn: bigint | number;
}

let accessToken: string | null = null;
let accessExpiresAt = 0;
let refreshToken: string | null = readStorage(sessionStorage, refreshKey);

export const tokens = {
  /** The access token while it is fresh; null when none is held or it is about to expire. */
  freshAccessToken(): string | null {
    return accessToken !== null && Date.now() < accessExpiresAt - earlyRefreshMs ? accessToken : null;
  },
  refreshToken(): string | null {
    return refreshToken;
  },
  save(pair: TokenPairLike): void {
    accessToken = pair.accessToken;
    accessExpiresAt = Date.now() + Number(pair.expiresIn) * 1000;
    refreshToken = pair.refreshToken;
    writeStorage(sessionStorage, refreshKey, pair.refreshToken);
  },
  /** Forgets both tokens (sign-out, or a session the server no longer accepts). */
  clear(): void {
    accessToken = null;
    accessExpiresAt = 0;
    refreshToken = null;
    writeStorage(sessionStorage, refreshKey, null);
  },
};

/** A stable id for this browser (the services bind sessions and refresh tokens to it). */
export function deviceId(): string {
  const known = readStorage(localStorage, deviceKey);
  if (known) return known;
  // getRandomValues, not randomUUID: the latter exists only in secure contexts (https or loopback).
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const fresh = `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  writeStorage(localStorage, deviceKey, fresh);
  return fresh;
}

// Storage can be switched off (private modes, policies): the page then still works for one load.
function readStorage(storage: Storage, key: string): string | null {
  try {
    return storage.getItem(key);
  } catch {
    return null;
  }
}

function writeStorage(storage: Storage, key: string, value: string | null): void {
  try {
    if (value === null) storage.removeItem(key);
    else storage.setItem(key, value);
  } catch {
    // Not persisted; memory still holds it.
  }
}
