// Reading an OAuth 2.0 token request (RFC 6749 sections 3.2, 2.3.1 and 4.4.2) from its HTTP parts:
// the form body and the Authorization header. Pure, so every rule here is tested without a server.

/** The error codes of RFC 6749 section 5.2 this endpoint answers with (and 429/503's). */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "invalid_scope"
  | "temporarily_unavailable"
  | "server_error";

export interface OAuthError {
  status: number;
  error: OAuthErrorCode;
  description: string;
  /** Answer with `WWW-Authenticate: Basic` (RFC 6749 section 5.2: the client tried Basic, or no authentication). */
  challenge: boolean;
}

export interface TokenRequest {
  clientId: string;
  clientSecret: string;
  /** The `scope` parameter, empty when absent. */
  scope: string;
  /** How the client authenticated: client_secret_basic answers a failure with 401 and a challenge. */
  method: "client_secret_basic" | "client_secret_post";
}

export type ParsedTokenRequest = { ok: true; request: TokenRequest } | { ok: false; error: OAuthError };

export interface TokenRequestParts {
  /** The Content-Type header. */
  contentType: string | undefined;
  /** The Authorization header. */
  authorization: string | undefined;
  /** The body, as text. */
  body: string;
}

/** As long as AuthService.IssueServiceToken accepts them (auth.proto). */
const maxClientIdLength = 128;
const maxClientSecretLength = 256;

const invalidRequest = (description: string): ParsedTokenRequest => ({
  ok: false,
  error: { status: 400, error: "invalid_request", description, challenge: false },
});

/** invalid_client: 401 with a Basic challenge when Basic was tried or nothing was, else 400 (RFC 6749 section 5.2). */
export function invalidClient(challenge: boolean, description: string): OAuthError {
  return { status: challenge ? 401 : 400, error: "invalid_client", description, challenge };
}

/**
 * The client credentials grant's parameters, or the RFC 6749 error that refuses the request. The
 * form is parsed by URLSearchParams (the WHATWG application/x-www-form-urlencoded parser); a
 * parameter sent without a value counts as absent (section 3.1), one sent twice is refused (3.2).
 * The client authenticates with exactly one of client_secret_basic (section 2.3.1: id and secret
 * form-urlencoded, then Basic) and client_secret_post (id and secret in the form).
 */
export function parseTokenRequest(parts: TokenRequestParts): ParsedTokenRequest {
  const mediaType = parts.contentType?.split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "application/x-www-form-urlencoded") {
    return invalidRequest("the request body must be application/x-www-form-urlencoded");
  }
  const form = new URLSearchParams(parts.body);
  const seen = new Set<string>();
  for (const name of form.keys()) {
    if (seen.has(name)) return invalidRequest(`the parameter ${name} is given more than once`);
    seen.add(name);
  }
  const parameter = (name: string) => form.get(name) || undefined;

  const grantType = parameter("grant_type");
  if (!grantType) return invalidRequest("grant_type is missing");
  if (grantType !== "client_credentials") {
    return {
      ok: false,
      error: {
        status: 400,
        error: "unsupported_grant_type",
        description: "only the client_credentials grant is served here",
        challenge: false,
      },
    };
  }

  const basic = parts.authorization === undefined ? undefined : basicCredentials(parts.authorization);
  if (basic && "error" in basic) return { ok: false, error: basic.error };
  const bodyId = parameter("client_id");
  const bodySecret = parameter("client_secret");
  let credentials: { clientId: string; clientSecret: string; method: TokenRequest["method"] };
  if (basic) {
    if (bodySecret !== undefined)
      return invalidRequest("authenticate with one method: Basic or client_secret, not both");
    if (bodyId !== undefined && bodyId !== basic.clientId) {
      return invalidRequest("client_id in the body differs from the one in the Authorization header");
    }
    credentials = { ...basic, method: "client_secret_basic" };
  } else if (bodySecret !== undefined && bodyId !== undefined) {
    credentials = { clientId: bodyId, clientSecret: bodySecret, method: "client_secret_post" };
  } else {
    return {
      ok: false,
      error: invalidClient(true, "client authentication is missing: use Basic or client_id and client_secret"),
    };
  }
  if (credentials.clientId.length > maxClientIdLength || credentials.clientSecret.length > maxClientSecretLength) {
    return {
      ok: false,
      error: invalidClient(credentials.method === "client_secret_basic", "client authentication failed"),
    };
  }
  return { ok: true, request: { ...credentials, scope: parameter("scope") ?? "" } };
}

/**
 * client_secret_basic (RFC 6749 section 2.3.1, RFC 7617): `Basic base64(urlencode(id):urlencode(secret))`.
 * Another scheme in the Authorization header is an authentication attempt this endpoint does not
 * take: invalid_client with the Basic challenge.
 */
function basicCredentials(header: string): { clientId: string; clientSecret: string } | { error: OAuthError } {
  const refuse = (description: string) => ({ error: invalidClient(true, description) });
  const encoded = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header)?.[1];
  if (!encoded) return refuse("the Authorization header must be Basic with the client id and secret");
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return refuse("the Basic credentials must be client_id:client_secret");
  const clientId = formDecode(decoded.slice(0, colon));
  const clientSecret = formDecode(decoded.slice(colon + 1));
  if (!clientId || clientSecret === undefined) return refuse("the Basic credentials are not form-urlencoded");
  return { clientId, clientSecret };
}

/** application/x-www-form-urlencoded decoding of one value (`+` is a space); undefined when malformed. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replaceAll("+", " "));
  } catch {
    return undefined;
  }
}
