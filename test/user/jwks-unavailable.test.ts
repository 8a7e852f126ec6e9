import { Code, ConnectError } from "@connectrpc/connect";
import { expect, it } from "vitest";
import { startTokenIssuer } from "../fixtures/tokens.js";
import { connectUserClient, startUser } from "../fixtures/services.js";
import { createTestDatabase } from "../support/index.js";

it("answers UNAVAILABLE, not UNAUTHENTICATED, while the auth service's JWKS cannot be fetched", async () => {
  const issuer = await startTokenIssuer();
  const { token } = await issuer.user();
  const jwksUrl = issuer.jwksUrl;
  await issuer.close(); // the auth service is down: its key set is unreachable
  const database = await createTestDatabase();
  const user = await startUser({ USER_DATABASE_URL: database.url, AUTH_JWKS_URL: jwksUrl });
  try {
    const error = await connectUserClient(user.baseUrl)
      .getMe({}, { headers: { authorization: `Bearer ${token}` } })
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    // A client told UNAUTHENTICATED would throw the person out; UNAVAILABLE says: retry shortly.
    expect(error?.code).toBe(Code.Unavailable);
    // A public look-up needs no token, so an unverifiable one does not stop it (NOT_FOUND: no such user).
    const lookUp = await connectUserClient(user.baseUrl)
      .getUser({ userId: "00000000-0000-4000-8000-000000000000" }, { headers: { authorization: `Bearer ${token}` } })
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(lookUp?.code).toBe(Code.NotFound);
  } finally {
    await user.close();
    await database.drop();
  }
});
