import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import { isServiceScope, serviceScopes } from "../../shared/auth/scopes.js";
import type { Clock } from "../../shared/clock.js";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from "../../shared/errors/domain-errors.js";
import type { Logger } from "../../shared/logging.js";
import type { Transact } from "../../shared/outbox/transact.js";
import {
  serviceAccountCreatedEvent,
  serviceAccountDisabledEvent,
  serviceAccountSecretRotatedEvent,
} from "../events/service-account-events.js";
import { insertOutboxRows } from "../../shared/outbox/outbox-store.js";
import type { AuthDatabase } from "../store/schema.js";
import {
  disableServiceAccount,
  insertServiceAccount,
  listServiceAccounts,
  lockServiceAccountByName,
  replaceServiceAccountSecret,
  type ServiceAccountRecord,
} from "../store/service-account-store.js";
import { newOpaqueToken } from "./opaque-tokens.js";

export type { ServiceAccountRecord };

/** A client id and the secret that goes with it, shown to the operator once and stored nowhere. */
export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface ServiceAccountsDeps {
  db: Kysely<AuthDatabase>;
  transact: Transact<AuthDatabase>;
  clock: Clock;
  /** Receives one audit line per change: what, which account, who ran it. */
  logger: Logger;
}

export type ServiceAccounts = ReturnType<typeof createServiceAccounts>;

/** Lower-case letters, digits and hyphens, starting with a letter: names go into logs and commands. */
const namePattern = /^[a-z][a-z0-9-]{1,62}$/;

/**
 * What operators do with service accounts (`npm run service-account`). Each change locks the
 * account's row, writes its event to the outbox in the same transaction and an audit log line
 * after the commit. Accounts are never deleted: a disabled account keeps its name and client id,
 * so both always mean one account in logs and events.
 */
export function createServiceAccounts(deps: ServiceAccountsDeps) {
  const { clock, logger } = deps;

  function audit(action: string, account: { clientId: string; name: string }, operator: string, extra = {}) {
    logger.info({ audit: action, clientId: account.clientId, name: account.name, operator, ...extra }, action);
  }

  async function create(name: string, requestedScopes: string[], operator: string): Promise<ClientCredentials> {
    if (!namePattern.test(name)) {
      throw new InvalidArgumentError(
        "name",
        "name: 2-63 lower-case letters, digits and hyphens, starting with a letter",
      );
    }
    if (requestedScopes.length === 0) {
      throw new InvalidArgumentError("scope", `give at least one --scope (${serviceScopes.join(", ")})`);
    }
    const unknown = requestedScopes.filter((scope) => !isServiceScope(scope));
    if (unknown.length > 0) {
      throw new InvalidArgumentError(
        "scope",
        `unknown scope ${unknown.join(", ")}; known: ${serviceScopes.join(", ")}`,
      );
    }
    const scopes = [...new Set(requestedScopes)].sort();
    const clientId = `svc_${randomBytes(16).toString("hex")}`;
    const secret = newOpaqueToken("client_secret");
    await deps.transact(async (trx) => {
      const now = clock.now();
      if (!(await insertServiceAccount(trx, { clientId, name, secretHash: secret.hash, scopes, now }))) {
        throw new AlreadyExistsError(
          "name",
          `a service account named ${name} exists (a disabled one keeps its name)`,
          "SERVICE_ACCOUNT_EXISTS",
        );
      }
      await insertOutboxRows(trx, [serviceAccountCreatedEvent(now, { clientId, name, scopes, operator })]);
    });
    audit("service_account.created", { clientId, name }, operator, { scopes });
    return { clientId, clientSecret: secret.token };
  }

  function list(): Promise<ServiceAccountRecord[]> {
    return listServiceAccounts(deps.db);
  }

  async function lockedAccount(trx: Kysely<AuthDatabase>, name: string): Promise<ServiceAccountRecord> {
    const account = await lockServiceAccountByName(trx, name);
    if (!account) throw new NotFoundError(`no service account is named ${name}`, "SERVICE_ACCOUNT_NOT_FOUND");
    return account;
  }

  /** A new secret; the old one stops working when this commits (no overlap: roll the new one out first). */
  async function rotateSecret(name: string, operator: string): Promise<ClientCredentials> {
    const secret = newOpaqueToken("client_secret");
    const account = await deps.transact(async (trx) => {
      const locked = await lockedAccount(trx, name);
      if (locked.disabledAt) {
        throw new FailedPreconditionError(`the service account ${name} is disabled`, "SERVICE_ACCOUNT_DISABLED");
      }
      const now = clock.now();
      await replaceServiceAccountSecret(trx, locked.clientId, secret.hash, now);
      await insertOutboxRows(trx, [serviceAccountSecretRotatedEvent(now, { ...locked, operator })]);
      return locked;
    });
    audit("service_account.secret_rotated", account, operator);
    return { clientId: account.clientId, clientSecret: secret.token };
  }

  /** Disables for good: no new tokens from now on. Disabling a disabled account changes nothing. */
  async function disable(name: string, operator: string): Promise<ServiceAccountRecord> {
    const { account, changed } = await deps.transact(async (trx) => {
      const locked = await lockedAccount(trx, name);
      if (locked.disabledAt) return { account: locked, changed: false };
      const now = clock.now();
      await disableServiceAccount(trx, locked.clientId, now);
      await insertOutboxRows(trx, [serviceAccountDisabledEvent(now, { ...locked, operator })]);
      return { account: { ...locked, disabledAt: now }, changed: true };
    });
    if (changed) audit("service_account.disabled", account, operator);
    return account;
  }

  return { create, list, rotateSecret, disable };
}
