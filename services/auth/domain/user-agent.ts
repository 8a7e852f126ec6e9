import { createHash } from "node:crypto";
import UAParser from "ua-parser-js";

/** What a User-Agent says about the device; empty strings where it says nothing. */
export interface DeviceTraits {
  deviceType: string;
  osName: string;
  osVersion: string;
  browserName: string;
  browserVersion: string;
}

const desktopSystems = new Set([
  "Windows",
  "Mac OS",
  "macOS",
  "Linux",
  "Ubuntu",
  "Debian",
  "Fedora",
  "Chromium OS",
  "FreeBSD",
]);

/**
 * Parses a User-Agent with ua-parser-js 1.x. It reports no device type for desktops, so a desktop
 * operating system is called "desktop". Native and gRPC clients ("grpc-node-js/1.14.7",
 * "okhttp/4.12") are not browsers to it; their first product token is taken as the client instead.
 *
 * Memoised: parsing runs a few hundred regular expressions (about 3% of a sign-in's CPU), while
 * the User-Agents of one service's callers are a few thousand strings. The parse is a pure function
 * of the string, so the memo changes no answer; it is bounded and forgets its oldest entry first.
 */
export function parseUserAgent(userAgent: string): DeviceTraits {
  const known = parsed.get(userAgent);
  if (known) return known;
  const traits = Object.freeze(parseUncached(userAgent));
  if (parsed.size >= maxMemoised) {
    const oldest = parsed.keys().next();
    if (!oldest.done) parsed.delete(oldest.value);
  }
  parsed.set(userAgent, traits);
  return traits;
}

const maxMemoised = 2_000;
const parsed = new Map<string, Readonly<DeviceTraits>>();

function parseUncached(userAgent: string): DeviceTraits {
  const result = new UAParser(userAgent).getResult();
  const osName = result.os.name ?? "";
  let browserName = result.browser.name ?? "";
  let browserVersion = result.browser.version ?? "";
  if (!browserName) {
    const product = /^([A-Za-z][\w.-]*)\/([\w.-]+)/.exec(userAgent.trim());
    if (product) [, browserName = "", browserVersion = ""] = product;
  }
  return {
    deviceType: result.device.type ?? (desktopSystems.has(osName) ? "desktop" : ""),
    osName,
    osVersion: result.os.version ?? "",
    browserName,
    browserVersion,
  };
}

/**
 * SHA-256 (hex) over the device id and its stable traits. Versions are left out on purpose: a
 * browser update must not look like a different device.
 */
export function deviceFingerprint(deviceId: string, traits: DeviceTraits): string {
  return createHash("sha256")
    .update([deviceId, traits.deviceType, traits.osName, traits.browserName].join("\u0000"))
    .digest("hex");
}
