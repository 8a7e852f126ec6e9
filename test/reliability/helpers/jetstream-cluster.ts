// What a JetStream cluster says about its streams and durable consumers: which member leads each,
// and whether every replica has caught up. A fault test waits on these states, with a deadline,
// instead of sleeping through an election.
import { jetstreamManager, type ClusterInfo, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { waitFor } from "../../support/index.js";

export interface ClusterWatch {
  /** The member leading `stream` now (undefined during an election). */
  leaderOf(stream: string): Promise<string | undefined>;
  /**
   * Waits until every stream in `streams`, and every durable consumer on them, has a leader among
   * `members` and its other replicas are all current (none offline, none behind). Resolves with the
   * milliseconds it waited.
   */
  waitUntilReplicated(streams: readonly string[], members: readonly string[], timeoutMs: number): Promise<number>;
  /**
   * Waits until every stream in `streams` has a leader among `members` and the other members'
   * replicas are current: a quorum answers, so the stream takes writes again.
   */
  waitUntilLed(streams: readonly string[], members: readonly string[], timeoutMs: number): Promise<number>;
  /** Messages not yet delivered and deliveries not yet acknowledged, summed over the stream's durables. */
  durableBacklog(stream: string): Promise<{ durables: number; pending: number; ackPending: number }>;
  /** The sequence of the stream's last message. */
  lastSequence(stream: string): Promise<number>;
  close(): Promise<void>;
}

/** Problems with one replicated asset: no leader, a leader outside `members`, replicas missing or behind. */
function replicationProblems(what: string, cluster: ClusterInfo | undefined, members: readonly string[]): string[] {
  if (!cluster?.leader) return [`${what}: no leader`];
  if (!members.includes(cluster.leader)) return [`${what}: led by ${cluster.leader}, not a member now`];
  const expected = members.filter((member) => member !== cluster.leader);
  const replicas = cluster.replicas ?? [];
  return expected.flatMap((member) => {
    const replica = replicas.find((candidate) => candidate.name === member);
    if (!replica) return [`${what}: no replica on ${member}`];
    if (replica.offline || !replica.current) return [`${what}: replica on ${member} not current (lag ${replica.lag})`];
    return [];
  });
}

/** Connects to every member, reconnecting for ever: the watch outlives the member it is connected to. */
export async function watchCluster(urls: readonly string[]): Promise<ClusterWatch> {
  const connection: NatsConnection = await connect({
    servers: [...urls],
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
    timeout: 2_000,
  });
  const jsm: JetStreamManager = await jetstreamManager(connection, { timeout: 2_000, checkAPI: false });

  async function problems(streams: readonly string[], members: readonly string[], consumers: boolean) {
    const found: string[] = [];
    for (const stream of streams) {
      const info = await jsm.streams.info(stream);
      found.push(...replicationProblems(stream, info.cluster, members));
      if (!consumers) continue;
      for await (const consumer of jsm.consumers.list(stream)) {
        // Ordered consumers are ephemeral with one replica: only the durables are replicated.
        if (consumer.config.durable_name)
          found.push(...replicationProblems(`${stream}/${consumer.name}`, consumer.cluster, members));
      }
    }
    return found;
  }

  async function waitUntil(
    streams: readonly string[],
    members: readonly string[],
    timeoutMs: number,
    consumers: boolean,
  ): Promise<number> {
    const started = Date.now();
    let last: string[] = ["not asked yet"];
    await waitFor(
      async () => {
        last = await problems(streams, members, consumers).catch((error: unknown) => [String(error)]);
        return last.length === 0;
      },
      { timeoutMs, intervalMs: 100 },
    ).catch((error: unknown) => {
      throw new Error(`JetStream not settled after ${timeoutMs} ms: ${last.join("; ")}`, { cause: error });
    });
    return Date.now() - started;
  }

  return {
    async leaderOf(stream) {
      return (await jsm.streams.info(stream)).cluster?.leader;
    },
    waitUntilReplicated: (streams, members, timeoutMs) => waitUntil(streams, members, timeoutMs, true),
    waitUntilLed: (streams, members, timeoutMs) => waitUntil(streams, members, timeoutMs, false),
    async durableBacklog(stream) {
      const backlog = { durables: 0, pending: 0, ackPending: 0 };
      for await (const consumer of jsm.consumers.list(stream)) {
        if (!consumer.config.durable_name) continue;
        backlog.durables++;
        backlog.pending += consumer.num_pending;
        backlog.ackPending += consumer.num_ack_pending;
      }
      return backlog;
    },
    async lastSequence(stream) {
      return (await jsm.streams.info(stream)).state.last_seq;
    },
    close: () => connection.close(),
  };
}
