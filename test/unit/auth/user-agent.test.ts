import { describe, expect, it } from "vitest";
import { deviceFingerprint, parseUserAgent } from "../../../services/auth/domain/user-agent.js";

// What a User-Agent says about the device a session signs in from (ua-parser-js 1.x), and the
// fingerprint that ties a device id to its stable traits.

const chromeOnWindows =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
const safariOnIphone =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

describe("user agents", () => {
  it("calls a desktop operating system's browser a desktop", () => {
    expect(parseUserAgent(chromeOnWindows)).toEqual({
      deviceType: "desktop",
      osName: "Windows",
      osVersion: "10",
      browserName: "Chrome",
      browserVersion: "126.0.0.0",
    });
  });

  it("reads a phone's device type, system and browser", () => {
    expect(parseUserAgent(safariOnIphone)).toMatchObject({
      deviceType: "mobile",
      osName: "iOS",
      osVersion: "17.5",
      browserName: "Mobile Safari",
    });
  });

  it.each([
    ["grpc-node-js/1.14.7", "grpc-node-js", "1.14.7"],
    ["okhttp/4.12.0", "okhttp", "4.12.0"],
    ["  connect-es/2.1.2 extra", "connect-es", "2.1.2"],
  ])("takes a native client's first product token as its browser: %s", (userAgent, browserName, browserVersion) => {
    expect(parseUserAgent(userAgent)).toMatchObject({ deviceType: "", osName: "", browserName, browserVersion });
  });

  it("says nothing where the User-Agent says nothing", () => {
    expect(parseUserAgent("")).toEqual({
      deviceType: "",
      osName: "",
      osVersion: "",
      browserName: "",
      browserVersion: "",
    });
  });

  it("answers the same for the same string, from memory the second time", () => {
    const first = parseUserAgent(chromeOnWindows);
    expect(parseUserAgent(chromeOnWindows)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });
});

describe("device fingerprint", () => {
  const traits = parseUserAgent(chromeOnWindows);

  it("is a SHA-256 in hex", () => {
    expect(deviceFingerprint("device-1", traits)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("stays the same when the browser or the system is updated", () => {
    const updated = { ...traits, browserVersion: "127.0.0.0", osVersion: "11" };
    expect(deviceFingerprint("device-1", updated)).toBe(deviceFingerprint("device-1", traits));
  });

  it("changes with the device id, the device type, the system or the browser", () => {
    const base = deviceFingerprint("device-1", traits);
    expect(deviceFingerprint("device-2", traits)).not.toBe(base);
    expect(deviceFingerprint("device-1", { ...traits, deviceType: "mobile" })).not.toBe(base);
    expect(deviceFingerprint("device-1", { ...traits, osName: "Linux" })).not.toBe(base);
    expect(deviceFingerprint("device-1", { ...traits, browserName: "Firefox" })).not.toBe(base);
  });
});
