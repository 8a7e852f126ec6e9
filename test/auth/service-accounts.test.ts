import { createHash } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { isServicePrincipal } from "../../services/shared/auth/principal.js";
import { bearer, grpc } from "../fixtures/grpc-clients.js";
import { startAuthHarness, type AuthHarness } from "./auth-harness.js";

// Service accounts as operators manage them (the domain behind `npm run service-account`): a secret
// shown once and stored as its SHA-256, an event and an audit line per change, names kept for good;
// and the grant as a gRPC call, IssueServiceToken, with its errors as gRPC codes.

const sha256 = (text: string) => createHash("sha256").update(text).digest();
const reasonOf = (error: ConnectError) => error.findDetails(ErrorInfoSchema)[0]?.reason;

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (!error) throw new Error("expected the call to fail");
  return error;
}

describe("service accounts", () => {
  let h: AuthHarness;
  const accounts = () => h.auth.handle.domain.serviceAccounts;
  const db = () => h.auth.handle.runtime.db;

  beforeAll(async () => {
    h = await startAuthHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("creates an account with a secret shown once and stored only as its SHA-256, and announces it without the secret", async () => {
    const created = await accounts().create("wallet", ["users.read", "users.moderate", "users.read"], "ops@laptop");
    expect(created.clientId).toMatch(/^svc_[0-9a-f]{32}$/);
    expect(created.clientSecret).toMatch(/^mcs_[A-Za-z0-9_-]{43}$/);

    const row = await db()
      .selectFrom("service_accounts")
      .selectAll()
      .where("client_id", "=", created.clientId)
      .executeTakeFirstOrThrow();
    expect(Buffer.from(row.secret_hash)).toEqual(sha256(created.clientSecret));
    expect(row).toMatchObject({ name: "wallet", scopes: ["users.moderate", "users.read"], disabled_at: null });
    expect(JSON.stringify(row)).not.toContain(created.clientSecret);

    const [event] = await h.events.waitForEvents("auth.service_account.created", 1);
    expect(event).toMatchObject({
      clientId: created.clientId,
      name: "wallet",
      scopes: ["users.moderate", "users.read"],
      operator: "ops@laptop",
    });
    const published = h.events.events.find((e) => e.subject === "auth.service_account.created")!;
    expect(Buffer.from(published.payload).toString("latin1")).not.toContain(created.clientSecret);
    expect((await accounts().list()).map((account) => account.name)).toContain("wallet");
  });

  it("refuses a taken name (a disabled account's too), an unknown scope, no scope and a malformed name", async () => {
    await accounts().create("ledger", ["users.read"], "ops");
    await accounts().disable("ledger", "ops");
    await expect(accounts().create("ledger", ["users.read"], "ops")).rejects.toMatchObject({
      reason: "SERVICE_ACCOUNT_EXISTS",
    });
    await expect(accounts().create("reports", ["users.write"], "ops")).rejects.toThrow(/unknown scope users.write/);
    await expect(accounts().create("reports", [], "ops")).rejects.toThrow(/at least one/);
    for (const name of ["Reports", "1reports", "r", "reports_x", "a".repeat(64)]) {
      await expect(accounts().create(name, ["users.read"], "ops"), name).rejects.toThrow(/name/);
    }
  });

  it("rotates a secret so that only the new one works, and disables an account for good, each with its event", async () => {
    const first = await accounts().create("kyc-bridge", ["users.kyc"], "ops");
    const grant = (clientSecret: string) => h.client.issueServiceToken({ clientId: first.clientId, clientSecret });
    expect((await grant(first.clientSecret)).scope).toBe("users.kyc");

    const rotated = await accounts().rotateSecret("kyc-bridge", "ops");
    expect(rotated.clientId).toBe(first.clientId);
    expect(reasonOf(await failure(grant(first.clientSecret)))).toBe("CLIENT_INVALID");
    expect((await grant(rotated.clientSecret)).tokenType).toBe("Bearer");

    const disabled = await accounts().disable("kyc-bridge", "ops");
    expect(disabled.disabledAt).toBeInstanceOf(Date);
    expect((await failure(grant(rotated.clientSecret))).code).toBe(Code.Unauthenticated);
    // Disabling again changes nothing and announces nothing; a disabled account's secret stays as it is.
    await accounts().disable("kyc-bridge", "ops");
    await expect(accounts().rotateSecret("kyc-bridge", "ops")).rejects.toMatchObject({
      reason: "SERVICE_ACCOUNT_DISABLED",
    });
    await expect(accounts().disable("no-such-account", "ops")).rejects.toMatchObject({
      reason: "SERVICE_ACCOUNT_NOT_FOUND",
    });

    const mine = (events: { clientId: string }[]) => events.filter((e) => e.clientId === first.clientId);
    await h.events.waitForEvents("auth.service_account.disabled", 2);
    expect(mine(h.events.decoded("auth.service_account.secret_rotated"))).toHaveLength(1);
    expect(mine(h.events.decoded("auth.service_account.disabled"))).toHaveLength(1);
  });

  it("issues over gRPC a token every service verifies as the service account's, with the scopes asked for", async () => {
    const created = await accounts().create("support-desk", ["users.read", "users.moderate"], "ops");
    const all = await h.client.issueServiceToken({ clientId: created.clientId, clientSecret: created.clientSecret });
    expect(all).toMatchObject({ tokenType: "Bearer", expiresIn: 300n, scope: "users.moderate users.read" });
    const caller = await h.auth.handle.domain.verifier.verify(all.accessToken);
    expect(isServicePrincipal(caller) && caller).toMatchObject({
      clientId: created.clientId,
      scopes: ["users.moderate", "users.read"],
    });

    const narrow = (await h.grpc.IssueServiceToken({
      client_id: created.clientId,
      client_secret: created.clientSecret,
      scope: "users.read",
    })) as { access_token: string; scope: string; expires_in: string };
    expect([narrow.scope, narrow.expires_in]).toEqual(["users.read", "300"]);
    const validation = await h.client.validateToken({ accessToken: narrow.access_token });
    expect(validation).toMatchObject({ valid: true, userId: "", sessionId: "", roles: ["service"] });
    expect([validation.clientId, validation.scopes]).toEqual([created.clientId, ["users.read"]]);
  });

  it("answers a bad client UNAUTHENTICATED, a scope the account lacks PERMISSION_DENIED and a malformed one INVALID_ARGUMENT", async () => {
    const created = await accounts().create("reader", ["users.read"], "ops");
    const call = (request: { clientId?: string; clientSecret?: string; scope?: string }) =>
      failure(
        h.client.issueServiceToken({ clientId: created.clientId, clientSecret: created.clientSecret, ...request }),
      );
    for (const bad of [{ clientSecret: "mcs_wrong" }, { clientId: "svc_unknown" }]) {
      const refused = await call(bad);
      expect([refused.code, reasonOf(refused)]).toEqual([Code.Unauthenticated, "CLIENT_INVALID"]);
    }
    for (const scope of ["users.kyc", "users.read users.moderate", "nonsense"]) {
      const refused = await call({ scope });
      expect([refused.code, reasonOf(refused)], scope).toEqual([Code.PermissionDenied, "SCOPE_NOT_GRANTED"]);
    }
    for (const scope of ["users.read  users.read", 'users."read"', " users.read"]) {
      expect((await call({ scope })).code, scope).toBe(Code.InvalidArgument);
    }
    const grpcRefused = await h.grpc
      .IssueServiceToken({ client_id: created.clientId, client_secret: "mcs_nope" })
      .catch((error: grpc.ServiceError) => error);
    expect((grpcRefused as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it("refuses a service account's token on the authenticated AuthService RPCs, StepUp and ReplaceIdentifier included (NOT_A_USER): they are a person's", async () => {
    const created = await accounts().create("nosy", ["users.read"], "ops");
    const { accessToken } = await h.client.issueServiceToken({
      clientId: created.clientId,
      clientSecret: created.clientSecret,
    });
    const as = { headers: { authorization: `Bearer ${accessToken}` } };
    for (const call of [
      () => h.client.listSessions({}, as),
      () => h.client.logout({}, as),
      () => h.client.listDevices({}, as),
      () => h.client.revokeAllSessions({}, as),
      // The step-up RPCs too: a service has no person who could step up, nor identifiers to replace.
      () => h.client.stepUp({ proof: { case: "password", value: "a password" } }, as),
      () => h.client.replaceIdentifier({ verificationToken: "mvt_not-a-real-token" }, as),
    ]) {
      const refused = await failure(call());
      expect([refused.code, reasonOf(refused)]).toEqual([Code.PermissionDenied, "NOT_A_USER"]);
    }
    const grpcRefused = await h.grpc.ListSessions({}, bearer(accessToken)).catch((error: grpc.ServiceError) => error);
    expect((grpcRefused as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
  });
});
