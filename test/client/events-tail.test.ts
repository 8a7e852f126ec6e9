import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LoginMethod, LoginSchema, OtpSentSchema } from "../../gen/mintcoin/events/v1/auth_events_pb.js";
import { OtpDeliveryRequestSchema } from "../../gen/mintcoin/events/v1/notify_pb.js";
import { UserBannedSchema, UserSuspendedSchema } from "../../gen/mintcoin/events/v1/user_events_pb.js";
import { createJetStreamPublisher } from "../../services/shared/events/jetstream-publisher.js";
import { createPipelinedPublish } from "../../services/shared/events/pipelined-publish.js";
import { ensureStreams, streams } from "../../services/shared/events/streams.js";
import type { OutboxPublisher } from "../../services/shared/outbox/relay.js";
import { startNats, waitFor, type NatsInstance } from "../support/index.js";

// `npm run events` as a consumer team runs it: a child process reading JetStream, its stdout read
// line by line. Events are published with the services' own JetStream publisher.

const root = fileURLToPath(new URL("../..", import.meta.url));

interface TailLine {
  subject: string;
  id: string;
  time: string;
  type: string;
  seq: number;
  message: Record<string, unknown>;
}

interface Tail {
  lines: TailLine[];
  stop(): Promise<void>;
}

const running = new Set<Tail>();

/** Runs `npm run events -- ...args` and resolves once it says it is subscribed. */
async function startTail(natsUrl: string, args: string[]): Promise<Tail> {
  const child: ChildProcess = spawn("npm", ["run", "--silent", "events", "--", ...args], {
    cwd: root,
    env: { ...process.env, NATS_URL: natsUrl },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, so stopping it stops npm's child too
  });
  const lines: TailLine[] = [];
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
    const complete = stdout.split("\n");
    stdout = complete.pop()!;
    for (const line of complete) lines.push(JSON.parse(line) as TailLine);
  });
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const tail: Tail = {
    lines,
    async stop() {
      running.delete(tail);
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, "SIGTERM");
      await exited;
    },
  };
  running.add(tail);
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`the tail exited (${child.exitCode}): ${stderr}`);
      return stderr.includes("tailing ");
    },
    { timeoutMs: 20_000 },
  );
  return tail;
}

describe("npm run events", () => {
  let nats: NatsInstance;
  let connection: NatsConnection;
  let publisher: OutboxPublisher;

  beforeAll(async () => {
    nats = await startNats();
    connection = await connect({ servers: nats.url });
    await ensureStreams(await jetstreamManager(connection), [streams.auth, streams.user, streams.notify], 1);
    publisher = createJetStreamPublisher(createPipelinedPublish(connection));
  });

  afterEach(async () => {
    await Promise.all([...running].map((tail) => tail.stop()));
  });

  afterAll(async () => {
    await connection?.close();
    await nats?.stop();
  });

  /** Publishes one event as the outbox relay would, and returns its id and time. */
  async function publish<Desc extends DescMessage>(
    subject: string,
    schema: Desc,
    data: Omit<MessageInitShape<Desc>, "eventId" | "occurredAt">,
  ): Promise<{ id: string; time: string }> {
    const id = randomUUID();
    const occurredAt = new Date();
    const message = create(schema, {
      ...data,
      eventId: id,
      occurredAt: timestampFromDate(occurredAt),
    } as unknown as MessageInitShape<Desc>);
    await publisher.publish({
      id,
      subject,
      event_type: schema.typeName,
      payload: toBinary(schema, message),
      created_at: occurredAt,
    });
    return { id, time: occurredAt.toISOString() };
  }

  it("prints only events published after it started, one JSON line each, decoded from protobuf", async () => {
    const before = await publish("auth.login", LoginSchema, {
      userId: "u-old",
      sessionId: "s-old",
      method: LoginMethod.OTP,
    });
    const tail = await startTail(nats.url, ["auth.>"]);
    const login = await publish("auth.login", LoginSchema, {
      userId: "u-1",
      sessionId: "s-1",
      method: LoginMethod.OTP,
    });
    const sent = await publish("auth.otp.sent", OtpSentSchema, { userId: "", otpId: "otp-1" });

    await waitFor(() => tail.lines.length >= 2);
    expect(tail.lines.map((line) => line.id)).toEqual([login.id, sent.id]);
    expect(tail.lines.map((line) => line.id)).not.toContain(before.id);
    const [first] = tail.lines;
    expect(first).toMatchObject({
      subject: "auth.login",
      id: login.id,
      type: "mintcoin.events.v1.Login",
      message: { eventId: login.id, userId: "u-1", sessionId: "s-1", method: "LOGIN_METHOD_OTP" },
    });
    expect(Date.parse(first!.time)).toBe(Date.parse(login.time));
    expect(first!.seq).toBeGreaterThan(0);
  });

  it("with --from-start replays the stream, keeping only the subject asked for", async () => {
    const suspended = await publish("user.suspended", UserSuspendedSchema, { userId: "u-2", reason: "review" });
    await publish("user.banned", UserBannedSchema, { userId: "u-3", reason: "fraud" });
    await publish("auth.login", LoginSchema, { userId: "u-2", sessionId: "s-2", method: LoginMethod.OTP });
    const tail = await startTail(nats.url, ["user.suspended", "--from-start"]);
    const later = await publish("user.suspended", UserSuspendedSchema, { userId: "u-4", reason: "chargeback" });

    await waitFor(() => tail.lines.length >= 2);
    // The ban sits between the two suspensions in USER_EVENTS: had the filter let it through, it would be second.
    expect(tail.lines.map((line) => [line.subject, line.id])).toEqual([
      ["user.suspended", suspended.id],
      ["user.suspended", later.id],
    ]);
    expect(tail.lines[0]!.message).toMatchObject({ userId: "u-2", reason: "review" });
  });

  it("by default follows every auth and user event, and never prints one-time code deliveries", async () => {
    const delivery = create(OtpDeliveryRequestSchema, { identifier: "+447911123456", code: "123456" });
    await jetstream(connection).publish("notify.otp.sms", toBinary(OtpDeliveryRequestSchema, delivery));
    const tail = await startTail(nats.url, ["--from-start"]);
    const login = await publish("auth.login", LoginSchema, {
      userId: "u-5",
      sessionId: "s-5",
      method: LoginMethod.OTP,
    });
    const banned = await publish("user.banned", UserBannedSchema, { userId: "u-5", reason: "fraud" });

    await waitFor(() => {
      const ids = tail.lines.map((line) => line.id);
      return ids.includes(login.id) && ids.includes(banned.id);
    });
    expect(new Set(tail.lines.map((line) => line.subject.split(".")[0]))).toEqual(new Set(["auth", "user"]));
  });
});
