// One line to get a UserService on real Postgres and NATS, with a token issuer standing in for the
// auth service, clients of both kinds, and an event reader: `const h = await startUserHarness()`.
import { randomUUID } from "node:crypto";
import { createClient, type CallOptions, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { UserService, type User } from "../../gen/mintcoin/user/v1/user_pb.js";
import type { Clock } from "../../services/shared/clock.js";
import { createLogger } from "../../services/shared/logging.js";
import { startUserService, type UserServiceHandle, type UserServiceOverrides } from "../../services/user/app.js";
import { loadUserConfig } from "../../services/user/config.js";
import { collectEvents, type EventCollector } from "../fixtures/events.js";
import { grpcUserClient, type GrpcClient } from "../fixtures/grpc-clients.js";
import { connectEventPublisher, type EventPublisher } from "../fixtures/publish-event.js";
import { startTokenIssuer, type IssuedToken, type TokenIssuer, type TokenSubject } from "../fixtures/tokens.js";
import type { MessageShape } from "@bufbuild/protobuf";
import type { eventCatalog, EventSubject } from "../../services/shared/events/catalog.js";
import { createTestDatabase, startNats, waitFor, type NatsInstance, type TestDatabase } from "../support/index.js";

const logLevel = process.env.TEST_LOG_LEVEL ?? "silent";

export interface UserInstance {
  handle: UserServiceHandle;
  address: string;
  baseUrl: string;
  /** Connect protocol over HTTP/1.1. */
  client: Client<typeof UserService>;
  /** @grpc/grpc-js with the .proto loaded at run time. */
  grpc: GrpcClient;
  close(): Promise<void>;
}

export interface UserHarness {
  database: TestDatabase;
  nats: NatsInstance;
  tokens: TokenIssuer;
  events: EventCollector;
  publisher: EventPublisher;
  /** The first instance. */
  user: UserInstance;
  client: Client<typeof UserService>;
  grpc: GrpcClient;
  env: Record<string, string>;
  /** Another instance on the same database and NATS (closed with the harness). */
  startInstance(overrides?: UserServiceOverrides): Promise<UserInstance>;
  /** Waits for the events on `subject` that match, and returns them (at least `count`). */
  eventsWhere<S extends EventSubject>(
    subject: S,
    match: (event: MessageShape<(typeof eventCatalog)[S]>) => boolean,
    count?: number,
  ): Promise<MessageShape<(typeof eventCatalog)[S]>[]>;
  /** A token for a new user and the profile made with it. */
  signUp(profile?: Partial<SignUp>, subject?: TokenSubject): Promise<SignedUp>;
  close(): Promise<void>;
}

export interface SignUp {
  username: string;
  name: string;
  referredByCode: string;
  registrationSource: string;
}

export interface SignedUp extends IssuedToken {
  userId: string;
  user: User;
  /** Call options carrying the bearer token, for Connect clients. */
  as: CallOptions;
}

/** Call options with `authorization: Bearer <token>`. */
export function bearerOptions(token: string): CallOptions {
  return { headers: { authorization: `Bearer ${token}` } };
}

let usernameCounter = 0;
/** A valid username nobody has taken yet in this test file. */
export function freshUsername(prefix = "user"): string {
  return `${prefix}_${process.pid % 1000}_${++usernameCounter}_${randomUUID().slice(0, 4)}`.slice(0, 30);
}

type EventOf<S extends EventSubject> = MessageShape<(typeof eventCatalog)[S]>;

async function eventsWhere<S extends EventSubject>(
  events: EventCollector,
  subject: S,
  match: (event: EventOf<S>) => boolean,
  count = 1,
): Promise<EventOf<S>[]> {
  const found = await waitFor(
    () => {
      const matching = events.decoded(subject).filter((event) => match(event));
      return matching.length >= count ? matching : undefined;
    },
    { timeoutMs: 10_000 },
  );
  return found!;
}

export async function startUserHarness(
  options: { clock?: Clock; env?: Record<string, string> } = {},
): Promise<UserHarness> {
  const [database, nats, tokens] = await Promise.all([
    createTestDatabase(),
    startNats(),
    startTokenIssuer({ clock: options.clock }),
  ]);
  const env = {
    USER_DATABASE_URL: database.url,
    NATS_URL: nats.url,
    AUTH_JWKS_URL: tokens.jwksUrl,
    USER_METRICS_PORT: "off",
    ...options.env,
  };
  const instances: UserInstance[] = [];

  async function startInstance(overrides: UserServiceOverrides = {}): Promise<UserInstance> {
    const config = loadUserConfig({ USER_PORT: "0", LOG_LEVEL: logLevel, ...env });
    const handle = await startUserService(config, createLogger("user", config.LOG_LEVEL), {
      clock: options.clock,
      ...overrides,
    });
    const address = `${config.HOST}:${handle.port}`;
    const baseUrl = `http://${address}`;
    const grpc = grpcUserClient(address);
    const instance: UserInstance = {
      handle,
      address,
      baseUrl,
      client: createClient(UserService, createConnectTransport({ baseUrl, httpVersion: "1.1" })),
      grpc,
      async close() {
        grpc.close();
        await handle.close();
      },
    };
    instances.push(instance);
    return instance;
  }

  const user = await startInstance();
  await Promise.all([user.handle.revocations?.ready, user.handle.consumers?.ready]);
  const [events, publisher] = await Promise.all([collectEvents(nats.url), connectEventPublisher(nats.url)]);

  return {
    database,
    nats,
    tokens,
    events,
    publisher,
    user,
    client: user.client,
    grpc: user.grpc,
    env,
    startInstance,
    eventsWhere: (subject, match, count) => eventsWhere(events, subject, match, count),
    async signUp(profile = {}, subject = {}) {
      const issued = await tokens.user(subject);
      const as = bearerOptions(issued.token);
      const { user: created } = await user.client.createUser(
        { username: freshUsername(), name: "Test Person", ...profile },
        as,
      );
      return { ...issued, userId: issued.claims.sub, user: created!, as };
    },
    async close() {
      for (const instance of instances.reverse()) await instance.close().catch(() => undefined);
      await events.close().catch(() => undefined);
      await publisher.close().catch(() => undefined);
      await tokens.close();
      await nats.stop();
      await database.drop();
    },
  };
}
