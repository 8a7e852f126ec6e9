import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import type { AuthServiceHandle } from "../../services/auth/app.js";
import type { UserServiceHandle } from "../../services/user/app.js";
import {
  capturingDelivery,
  connectAuthClient,
  connectUserClient,
  startAuth,
  startUser,
  type RunningService,
} from "../fixtures/services.js";
import { ensureChromium } from "../support/ensure-binaries.js";
import { createTestDatabase, startNats, type NatsInstance, type TestDatabase } from "../support/index.js";
import type { PageConfig } from "./app/config.js";
import { buildPage, type PageFile } from "./build.js";
import { startStaticServer, type StaticServer } from "./static-server.js";

// The sign-in page (test/browser/app) in headless Chromium against both real services: bundled by
// esbuild, served from its own origin so every call is a CORS request, calling the services with
// @connectrpc/connect-web. Set SCREENSHOT_DIR to keep a screenshot of the profile view; a failing
// test always leaves one of the page as it was, and prints where.

// As on this machine's kind (see the node-svc notes): without the background-networking flags
// Chromium keeps dialling Google's hosts, which the closed network refuses. Playwright itself adds
// --headless, --no-sandbox (we run as root) and a fresh --user-data-dir.
const chromiumFlags = [
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Shorter than the test timeout, so a missing element fails the step (with a screenshot) first. */
const stepTimeoutMs = 10_000;

describe("browser sign-in page (connect-web in headless Chromium, from another origin)", () => {
  let authDb: TestDatabase;
  let userDb: TestDatabase;
  let nats: NatsInstance;
  let auth: RunningService<AuthServiceHandle>;
  let user: RunningService<UserServiceHandle>;
  let files: Map<string, PageFile>;
  let site: StaticServer;
  let strangerSite: StaticServer;
  let browser: Browser;
  const delivery = capturingDelivery();

  beforeAll(async () => {
    // First, since on a clean machine it is an apt-get install of about a minute.
    const executablePath = ensureChromium((line) => console.log(line));
    if (executablePath === null)
      throw new Error("chromium is missing and could not be installed (apt-get install chromium)");

    [authDb, userDb, nats, files] = await Promise.all([
      createTestDatabase(),
      createTestDatabase(),
      startNats(),
      buildPage(),
    ]);
    // The page's server starts first: its origin is what the services must allow.
    let config: PageConfig | null = null;
    const pageConfig = () => {
      if (config === null) throw new Error("the services are not started yet");
      return config;
    };
    site = await startStaticServer({ files, config: pageConfig });
    strangerSite = await startStaticServer({ files, config: pageConfig });
    auth = await startAuth(
      // A one-minute send window, so the rate-limit answer reads "in N s".
      {
        AUTH_DATABASE_URL: authDb.url,
        NATS_URL: nats.url,
        CORS_ORIGINS: site.origin,
        OTP_RATE_LIMIT_WINDOW_MINUTES: "1",
      },
      { delivery },
    );
    user = await startUser({
      USER_DATABASE_URL: userDb.url,
      NATS_URL: nats.url,
      AUTH_JWKS_URL: `${auth.baseUrl}/.well-known/jwks.json`,
      CORS_ORIGINS: site.origin,
    });
    config = { authUrl: auth.baseUrl, userUrl: user.baseUrl };
    browser = await chromium.launch({ executablePath, args: chromiumFlags });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([site?.close(), strangerSite?.close()]);
    await user?.close();
    await auth?.close();
    await nats?.stop();
    await Promise.all([authDb?.drop(), userDb?.drop()]);
  });

  /**
   * Runs `steps` in a fresh browser context (its own storage, like a new browser profile). On a
   * failure: a screenshot of the page as it was, its path printed, and the page's console errors.
   */
  async function inBrowser(name: string, steps: (page: Page) => Promise<void>, origin = site.origin): Promise<void> {
    const context = await browser.newContext({ baseURL: origin, viewport: { width: 800, height: 900 } });
    context.setDefaultTimeout(stepTimeoutMs);
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(error.message));
    try {
      await page.goto("/");
      await steps(page);
    } catch (error) {
      const path = join(mkdtempSync(join(tmpdir(), "mintcoin-browser-")), `${name}-failure.png`);
      await page.screenshot({ path, fullPage: true }).catch(() => undefined);
      console.error(
        `[browser test] "${name}" failed; screenshot: ${path}\npage console errors:\n${consoleErrors.join("\n") || "(none)"}`,
      );
      throw error;
    } finally {
      await context.close();
    }
  }

  /** With SCREENSHOT_DIR set, keeps a picture of the page, to look at how a screen reads. */
  async function keepScreenshot(page: Page, name: string): Promise<void> {
    if (process.env.SCREENSHOT_DIR)
      await page.screenshot({ path: join(process.env.SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  }

  const heading = (page: Page, name: string | RegExp) => page.getByRole("heading", { name }).waitFor();
  const alertSaying = (page: Page, text: string | RegExp) => page.getByRole("alert").filter({ hasText: text });

  async function askForCode(page: Page, identifier: string): Promise<void> {
    await heading(page, "Sign in or create an account");
    await page.getByLabel("Phone number or email").fill(identifier);
    await page.getByRole("button", { name: "Send code" }).click();
    await heading(page, "Enter your code");
  }

  /** Types the code that the (capturing) delivery was handed for `normalised`, and signs in. */
  async function enterCode(page: Page, normalised: string): Promise<void> {
    await page.getByLabel("6-digit code").fill(delivery.lastCode(normalised));
    await page.getByRole("button", { name: "Verify and sign in" }).click();
  }

  it("signs a new person up and out: email, code, profile, profile view with the current session, sign-out", async () => {
    let accessToken: string | undefined;
    await inBrowser("sign-up", async (page) => {
      await askForCode(page, "  Ada@Example.com ");
      expect(await page.getByText("We sent a 6-digit code to").textContent()).toContain("Ada@Example.com");

      // A wrong code is told in words and leaves the person on the code screen.
      const right = delivery.lastCode("ada@example.com");
      await page.getByLabel("6-digit code").fill(`${right.startsWith("1") ? "2" : "1"}${right.slice(1)}`);
      await page.getByRole("button", { name: "Verify and sign in" }).click();
      await alertSaying(page, "That code is not right. Check it and try again.").waitFor();

      const loginResponse = page.waitForResponse((response) =>
        response.url().endsWith("/mintcoin.auth.v1.AuthService/Login"),
      );
      await enterCode(page, "ada@example.com");
      const login = (await (await loginResponse).json()) as {
        tokens: { accessToken: string; refreshToken: string };
        newUser: boolean;
      };
      expect(login.newUser).toBe(true);
      accessToken = login.tokens.accessToken;

      await heading(page, "Create your profile");
      await page.getByLabel("Username").fill("ada_l");
      await page.getByLabel("Name", { exact: true }).fill("Ada Lovelace");
      await page.getByLabel("About you").fill("Wrote the first program.");
      await page.getByRole("button", { name: "Create profile" }).click();

      await heading(page, "Ada Lovelace");
      await page.getByText("@ada_l").waitFor();
      // The address the code proved (normalised), marked verified; the form never asked for it.
      const email = page.locator("dt:has-text('Email') + dd");
      expect(await email.evaluate((dd) => dd.firstChild?.textContent)).toBe("ada@example.com");
      expect(await email.locator(".badge").textContent()).toBe("verified");
      const sessions = page.getByRole("list", { name: "Sessions" }).getByRole("listitem");
      expect(await sessions.count()).toBe(1);
      const current = sessions.filter({ hasText: "This device" });
      expect(await current.count()).toBe(1);
      expect(await current.getAttribute("aria-current")).toBe("true");
      expect(await current.locator(".device").textContent()).toBe("Chrome on LinuxThis device");
      await keepScreenshot(page, "profile-view");

      // Tokens as a browser app keeps them: the access token in memory only, nowhere in storage;
      // the refresh token in this tab's sessionStorage (so a reload stays signed in), not in
      // localStorage (shared by every tab, kept after the browser closes).
      const stored = await page.evaluate(() => ({
        local: JSON.stringify({ ...localStorage }),
        session: JSON.stringify({ ...sessionStorage }),
      }));
      expect(stored.local).not.toContain(login.tokens.accessToken);
      expect(stored.session).not.toContain(login.tokens.accessToken);
      expect(stored.local).not.toContain(login.tokens.refreshToken);
      expect(stored.session).toContain(login.tokens.refreshToken);

      // A reload forgets the access token; the refresh token gets a new one and the profile is back.
      const refreshed = page.waitForResponse((response) =>
        response.url().endsWith("/mintcoin.auth.v1.AuthService/RefreshToken"),
      );
      await page.reload();
      expect((await refreshed).status()).toBe(200);
      await heading(page, "Ada Lovelace");

      await page.getByRole("button", { name: "Sign out" }).click();
      await heading(page, "Sign in or create an account");
      await page.getByText("You have signed out.").waitFor();
      expect(await page.evaluate(() => JSON.stringify({ ...sessionStorage }))).not.toContain("refreshToken");
    });

    // The session really ended on the server, not only in the page: its access tokens are refused.
    const { valid } = await connectAuthClient(auth.baseUrl).validateToken({ accessToken: accessToken! });
    expect(valid).toBe(false);
  });

  it("takes a returning person straight to their profile, listing their other sessions without the current mark", async () => {
    // Grace signs up from her phone (outside the browser), then signs in from Chromium.
    const phone = "+447911123450";
    const api = connectAuthClient(auth.baseUrl);
    await api.sendOtp({
      identifier: phone,
      identifierType: IdentifierType.PHONE,
      purpose: OtpPurpose.LOGIN,
      deviceId: "grace-phone",
    });
    const { verificationToken } = await api.verifyOtp({
      identifier: phone,
      identifierType: IdentifierType.PHONE,
      purpose: OtpPurpose.LOGIN,
      code: delivery.lastCode(phone),
    });
    const phoneLogin = await api.login({ verificationToken, deviceId: "grace-phone", deviceName: "Grace's phone" });
    await connectUserClient(user.baseUrl).createUser(
      { username: "grace_h", name: "Grace Hopper" },
      { headers: { authorization: `Bearer ${phoneLogin.tokens!.accessToken}` } },
    );

    await inBrowser("returning", async (page) => {
      await askForCode(page, "+44 7911 123450");
      await enterCode(page, phone);
      await heading(page, "Grace Hopper");
      expect(await page.locator("dt:has-text('Phone') + dd").evaluate((dd) => dd.firstChild?.textContent)).toBe(phone);
      const sessions = page.getByRole("list", { name: "Sessions" }).getByRole("listitem");
      expect(await sessions.count()).toBe(2);
      expect(await sessions.filter({ hasText: "This device" }).locator(".device").textContent()).toBe(
        "Chrome on LinuxThis device",
      );
      const other = sessions.filter({ hasText: "Grace's phone" });
      expect(await other.count()).toBe(1);
      expect(await other.getAttribute("aria-current")).toBeNull();
      await keepScreenshot(page, "profile-view-two-sessions");
    });
  });

  it("tells a person who asked for too many codes when to try again, in seconds", async () => {
    await inBrowser("rate-limit", async (page) => {
      // OTP_RATE_LIMIT_MAX_REQUESTS is 3 per window: the third send holds the resend button back.
      for (let send = 1; send <= 3; send++) {
        await askForCode(page, "mary@example.com");
        if (send < 3) await page.getByRole("button", { name: "Use a different phone or email" }).click();
      }
      const resend = page.getByRole("button", { name: /^Send a new code \(in \d+ s\)$/ });
      expect(await resend.isDisabled()).toBe(true);
      await page.getByRole("button", { name: "Use a different phone or email" }).click();

      await heading(page, "Sign in or create an account");
      await page.getByLabel("Phone number or email").fill("mary@example.com");
      await page.getByRole("button", { name: "Send code" }).click();
      await alertSaying(page, /^Too many codes were asked for\. Try again in \d+ s\.$/).waitFor();
      await keepScreenshot(page, "rate-limited");
    });
  });

  it("says in words when the input is not a phone number or an email", async () => {
    await inBrowser("bad-identifier", async (page) => {
      await heading(page, "Sign in or create an account");
      await page.getByLabel("Phone number or email").fill("not a number");
      await page.getByRole("button", { name: "Send code" }).click();
      await alertSaying(page, "That doesn't look like a phone number or an email address.").waitFor();
    });
  });

  it("cannot call the services from an origin they do not allow (CORS is what lets the page in)", async () => {
    expect(strangerSite.origin).not.toBe(site.origin);
    await inBrowser(
      "cors-refused",
      async (page) => {
        await heading(page, "Sign in or create an account");
        await page.getByLabel("Phone number or email").fill("eve@example.com");
        await page.getByRole("button", { name: "Send code" }).click();
        await alertSaying(page, "Can't reach the service. Check your connection and try again.").waitFor();
      },
      strangerSite.origin,
    );
    // The preflight was refused, so the request itself never reached the service.
    expect(delivery.sent.some((request) => request.identifier === "eve@example.com")).toBe(false);
  });
});
