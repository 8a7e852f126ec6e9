import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClientCredentials } from "../../services/auth/domain/service-accounts.js";
import { parsePrometheusText, sampleValue } from "../fixtures/metrics.js";
import { startAuthHarness, type AuthHarness } from "./auth-harness.js";

// POST /oauth2/token over plain HTTP, as RFC 6749 has it: a form in, JSON out, never cached; the
// client authenticated with client_secret_basic or client_secret_post; errors of section 5.2 with
// their status codes; failed client authentications locked out per client id and address, with a
// metric. (A real OAuth client library drives the same endpoint in test/flows/service-accounts.test.ts.)

const form = "application/x-www-form-urlencoded";
/** client_secret_basic: each part form-urlencoded, then Base64 (RFC 6749 section 2.3.1). */
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

let ipCounter = 0;
/** A client address of its own per call site (X-Forwarded-For from the trusted 127.0.0.1). */
function freshIp(): string {
  ipCounter += 1;
  return `198.51.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

describe("POST /oauth2/token", () => {
  let h: AuthHarness;
  let reader: ClientCredentials;

  beforeAll(async () => {
    h = await startAuthHarness({ env: { TRUSTED_PROXIES: "127.0.0.1", CLIENT_AUTH_IP_MAX_FAILURES: "8" } });
    reader = await h.auth.handle.domain.serviceAccounts.create("reader", ["users.read", "users.kyc"], "ops");
  });
  afterAll(async () => {
    await h?.close();
  });

  async function post(
    body: string | Record<string, string>,
    options: { authorization?: string; contentType?: string; ip?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const response = await fetch(`${h.auth.baseUrl}/oauth2/token`, {
      method: "POST",
      headers: {
        "content-type": options.contentType ?? form,
        "x-forwarded-for": options.ip ?? freshIp(),
        ...(options.authorization && { authorization: options.authorization }),
        ...options.headers,
      },
      body: typeof body === "string" ? body : new URLSearchParams(body).toString(),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text.startsWith("{") ? JSON.parse(text) : {} };
  }
  const grant = { grant_type: "client_credentials" };
  const post_ = (extra: Record<string, string> = {}) =>
    post({ ...grant, client_id: reader.clientId, client_secret: reader.clientSecret, ...extra });

  it("issues an RFC 9068 access token with client_secret_basic and with client_secret_post, never cached", async () => {
    for (const answer of [
      await post(grant, { authorization: basic(reader.clientId, reader.clientSecret) }),
      await post_(),
    ]) {
      expect(answer.status).toBe(200);
      expect(answer.headers.get("cache-control")).toBe("no-store");
      expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
      expect(answer.body).toMatchObject({ token_type: "Bearer", expires_in: 300, scope: "users.kyc users.read" });
      const token = answer.body.access_token as string;
      expect(decodeProtectedHeader(token)).toMatchObject({ typ: "at+jwt", alg: "ES256" });
      const claims = decodeJwt(token);
      expect(claims).toMatchObject({
        sub: reader.clientId,
        client_id: reader.clientId,
        scope: "users.kyc users.read",
        iss: "mintcoin-auth",
        aud: "mintcoin",
        roles: ["service"],
      });
      expect(claims.exp! - claims.iat!).toBe(300);
      expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
      expect(claims.sid).toBeUndefined();
    }
  });

  it("narrows the token to the scope asked for, and refuses a scope the account lacks or a malformed one (invalid_scope)", async () => {
    expect((await post_({ scope: "users.read" })).body.scope).toBe("users.read");
    // A parameter without a value counts as absent (RFC 6749 section 3.1): every scope.
    expect((await post_({ scope: "" })).body.scope).toBe("users.kyc users.read");
    for (const scope of ["users.moderate", "users.read users.moderate", "users.read  users.kyc", 'a"b']) {
      const answer = await post_({ scope });
      expect([answer.status, answer.body.error], scope).toEqual([400, "invalid_scope"]);
    }
  });

  it("answers malformed requests with the errors of RFC 6749 section 5.2", async () => {
    const withBasic = { authorization: basic(reader.clientId, reader.clientSecret) };
    // Each request is made when the loop reaches it: made together, one that failed (a reset of the
    // 413) before the loop awaited it would be a rejection with no handler yet, which fails the run.
    const cases: [string, () => Promise<Answer>, number, string][] = [
      [
        "JSON instead of a form",
        () => post(JSON.stringify(grant), { ...withBasic, contentType: "application/json" }),
        400,
        "invalid_request",
      ],
      ["no grant_type", () => post({}, withBasic), 400, "invalid_request"],
      [
        "a parameter twice",
        () => post("grant_type=client_credentials&grant_type=client_credentials", withBasic),
        400,
        "invalid_request",
      ],
      ["the password grant", () => post({ grant_type: "password" }, withBasic), 400, "unsupported_grant_type"],
      [
        "the authorization code grant",
        () => post({ grant_type: "authorization_code", code: "x" }, withBasic),
        400,
        "unsupported_grant_type",
      ],
      [
        "both authentication methods",
        () => post({ ...grant, client_secret: reader.clientSecret }, withBasic),
        400,
        "invalid_request",
      ],
      [
        "a body client_id that differs from Basic's",
        () => post({ ...grant, client_id: "svc_other" }, withBasic),
        400,
        "invalid_request",
      ],
      [
        "a compressed body",
        () => post(grant, { ...withBasic, headers: { "content-encoding": "gzip" } }),
        400,
        "invalid_request",
      ],
      ["a body over 16 KiB", () => post({ ...grant, scope: "x".repeat(17_000) }, withBasic), 413, "invalid_request"],
    ];
    for (const [label, answer, status, error] of cases) {
      const { status: got, body, headers } = await answer();
      expect([got, body.error], label).toEqual([status, error]);
      expect(headers.get("cache-control"), label).toBe("no-store");
    }
    const get = await fetch(`${h.auth.baseUrl}/oauth2/token`);
    expect([get.status, get.headers.get("allow")]).toEqual([405, "POST"]);
  });

  it("answers a failed client authentication invalid_client: 401 with a Basic challenge for Basic or none, 400 for client_secret_post", async () => {
    const challenged: [string, () => Promise<Answer>][] = [
      ["a wrong secret by Basic", () => post(grant, { authorization: basic(reader.clientId, "mcs_wrong") })],
      ["an unknown client by Basic", () => post(grant, { authorization: basic("svc_nobody", reader.clientSecret) })],
      ["no client authentication", () => post(grant)],
      ["a client_id without a secret", () => post({ ...grant, client_id: reader.clientId })],
      ["a Bearer token instead", () => post(grant, { authorization: "Bearer abc" })],
      ["Basic that is not base64", () => post(grant, { authorization: "Basic ***" })],
      ["Basic without a colon", () => post(grant, { authorization: `Basic ${Buffer.from("x").toString("base64")}` })],
    ];
    for (const [label, answer] of challenged) {
      const { status, body, headers } = await answer();
      expect([status, body.error], label).toEqual([401, "invalid_client"]);
      expect(headers.get("www-authenticate"), label).toMatch(/^Basic realm=/);
    }
    const byPost = await post_({ client_secret: "mcs_wrong" });
    expect([byPost.status, byPost.body.error, byPost.headers.get("www-authenticate")]).toEqual([
      400,
      "invalid_client",
      null,
    ]);
  });

  it("decodes form-urlencoded Basic credentials, '+' and '%2B' alike", async () => {
    const spaced = await h.auth.handle.domain.serviceAccounts.create("spaced", ["users.read"], "ops");
    // The secret has no reserved characters; the id is sent with its underscore percent-encoded.
    const encoded = Buffer.from(`${spaced.clientId.replace("_", "%5F")}:${spaced.clientSecret}`).toString("base64");
    expect((await post(grant, { authorization: `Basic ${encoded}` })).status).toBe(200);
  });

  it("locks a client id out for one address after 5 failures, doubling, not for other addresses, and counts every failure", async () => {
    const target = await h.auth.handle.domain.serviceAccounts.create("target", ["users.read"], "ops");
    const attacker = freshIp();
    const wrong = () => post(grant, { authorization: basic(target.clientId, "mcs_guess"), ip: attacker });
    const right = (ip: string) => post(grant, { authorization: basic(target.clientId, target.clientSecret), ip });
    const failures = async () =>
      sampleValue(
        parsePrometheusText(await h.auth.handle.runtime.metrics.scrape()),
        "mintcoin_client_authentication_failures_total",
        {
          reason: "wrong_secret",
        },
      ) ?? 0;
    const before = await failures();

    for (let attempt = 1; attempt <= 5; attempt++) expect((await wrong()).status, `attempt ${attempt}`).toBe(401);
    const locked = await right(attacker);
    expect([locked.status, locked.body.error, locked.headers.get("retry-after")]).toEqual([
      429,
      "temporarily_unavailable",
      "60",
    ]);
    // The real service, elsewhere, is not locked out.
    expect((await right(freshIp())).status).toBe(200);
    expect(await failures()).toBe(before + 5);

    h.clock.advance(60_000);
    expect((await wrong()).status).toBe(401);
    expect((await right(attacker)).headers.get("retry-after")).toBe("120");
    h.clock.advance(120_000);
    expect((await right(attacker)).status).toBe(200);
    expect((await wrong()).status).toBe(401);
  });

  it("limits failed authentications per address across client ids, and a right secret costs nothing", async () => {
    const ip = freshIp();
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect((await post(grant, { authorization: basic(reader.clientId, reader.clientSecret), ip })).status).toBe(200);
    }
    for (let attempt = 1; attempt <= 8; attempt++) {
      const answer = await post(grant, { authorization: basic(`svc_guess${attempt}`, "mcs_x"), ip });
      expect(answer.status, `attempt ${attempt}`).toBe(401);
    }
    const limited = await post(grant, { authorization: basic(reader.clientId, reader.clientSecret), ip });
    expect([limited.status, limited.body.error]).toEqual([429, "temporarily_unavailable"]);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("answers the metadata path with a hint while JWT_ISSUER is not a URL", async () => {
    const response = await fetch(`${h.auth.baseUrl}/.well-known/oauth-authorization-server`);
    expect(response.status).toBe(404);
    expect(await response.text()).toContain("JWT_ISSUER");
  });
});
