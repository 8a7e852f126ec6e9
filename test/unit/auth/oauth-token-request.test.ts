import { describe, expect, it } from "vitest";
import { parseTokenRequest, type TokenRequestParts } from "../../../services/auth/handlers/oauth-token-request.js";

// Reading a token request (RFC 6749 sections 2.3.1, 3.2 and 4.4.2) from its HTTP parts, without a server.

const form = "application/x-www-form-urlencoded";
const basic = (raw: string) => `Basic ${Buffer.from(raw).toString("base64")}`;
const parse = (parts: Partial<TokenRequestParts>) =>
  parseTokenRequest({ contentType: form, authorization: undefined, body: "grant_type=client_credentials", ...parts });

describe("a token request", () => {
  it("takes client_secret_basic with each part form-urlencoded, and client_secret_post from the form", () => {
    expect(parse({ authorization: basic("svc%5Fa+b:s%3Ac+%2B") })).toEqual({
      ok: true,
      request: { clientId: "svc_a b", clientSecret: "s:c +", scope: "", method: "client_secret_basic" },
    });
    expect(
      parse({ body: "grant_type=client_credentials&client_id=svc_a&client_secret=s%20c&scope=users.read" }),
    ).toEqual({
      ok: true,
      request: { clientId: "svc_a", clientSecret: "s c", scope: "users.read", method: "client_secret_post" },
    });
  });

  it("accepts a media type with parameters and a Basic scheme in any case, and a matching client_id beside Basic", () => {
    const parsed = parse({
      contentType: "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
      authorization: `bAsIc ${Buffer.from("svc_a:s").toString("base64")}`,
      body: "grant_type=client_credentials&client_id=svc_a",
    });
    expect(parsed.ok).toBe(true);
  });

  it.each([
    ["no form", { contentType: "application/json" }, 400, "invalid_request", false],
    ["no grant_type", { body: "scope=x", authorization: basic("a:b") }, 400, "invalid_request", false],
    ["an empty grant_type", { body: "grant_type=", authorization: basic("a:b") }, 400, "invalid_request", false],
    ["grant_type twice", { body: "grant_type=client_credentials&grant_type=x" }, 400, "invalid_request", false],
    ["scope twice", { body: "grant_type=client_credentials&scope=a&scope=b" }, 400, "invalid_request", false],
    ["the refresh_token grant", { body: "grant_type=refresh_token" }, 400, "unsupported_grant_type", false],
    ["no client authentication", {}, 401, "invalid_client", true],
    ["a Bearer header", { authorization: "Bearer x" }, 401, "invalid_client", true],
    ["Basic without a colon", { authorization: basic("svc_a") }, 401, "invalid_client", true],
    ["Basic with a bad escape", { authorization: basic("svc_a:%zz") }, 401, "invalid_client", true],
    ["Basic with an empty client id", { authorization: basic(":secret") }, 401, "invalid_client", true],
    [
      "Basic and a client_secret in the form",
      { authorization: basic("a:b"), body: "grant_type=client_credentials&client_secret=b" },
      400,
      "invalid_request",
      false,
    ],
    [
      "a client_secret without a client_id",
      { body: "grant_type=client_credentials&client_secret=b" },
      401,
      "invalid_client",
      true,
    ],
    [
      "a client id longer than 128 characters, by post",
      { body: `grant_type=client_credentials&client_id=${"a".repeat(129)}&client_secret=b` },
      400,
      "invalid_client",
      false,
    ],
  ] as const)("refuses %s", (_label, parts, status, error, challenge) => {
    const parsed = parse(parts);
    expect(parsed.ok ? undefined : parsed.error).toMatchObject({ status, error, challenge });
  });
});
