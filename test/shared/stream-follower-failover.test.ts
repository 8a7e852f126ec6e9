import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNatsLink, type NatsLink } from "../../services/shared/events/nats-link.js";
import { followStream, type StreamFollower } from "../../services/shared/events/stream-follower.js";
import { guaranteed } from "../../services/shared/guaranteed.js";
import { createLogger } from "../../services/shared/logging.js";
import { startNatsCluster, waitFor, type NatsCluster, type NatsClusterNode } from "../support/index.js";

// The revocation list and the profile cache follow their streams with ordered consumers, which in a
// NATS cluster live on one server each (one replica, in memory). When that server dies while the
// follower's own connection is to another, no message and no error reaches the follower: it must
// notice by the missed heartbeats, stop calling itself current, and resume on a live server after
// the last message it saw, instead of staying deaf while claiming to be current.

const logger = createLogger("follower-test", process.env.TEST_LOG_LEVEL ?? "silent");
const stream = "FOLLOWED";

describe("a stream follower whose consumer's server dies", () => {
  let cluster: NatsCluster;
  let admin: NatsConnection;
  let link: NatsLink | undefined;
  let follower: StreamFollower | undefined;

  beforeAll(async () => {
    cluster = await startNatsCluster(3);
    admin = await connect({ servers: [...cluster.urls], maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    await (await jetstreamManager(admin)).streams.add({ name: stream, subjects: ["followed.>"], num_replicas: 3 });
  }, 60_000);

  afterAll(async () => {
    await follower?.close();
    await link?.close();
    await admin?.close();
    await cluster?.stop();
  });

  /** Publishes until a quorum acknowledges (a new leader may still be being elected). */
  async function publish(id: string): Promise<number> {
    const js = jetstream(admin);
    return waitFor(async () => (await js.publish("followed.x", id, { msgID: id, timeout: 1_000 })).seq, {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
  }

  /**
   * The member hosting the follower's ordered consumer, once its leader is known: on a busy machine both take a moment after
   * the follower is ready.
   */
  async function consumerHost(): Promise<NatsClusterNode> {
    const jsm = await jetstreamManager(admin);
    return waitFor(
      async () => {
        // A closed attempt's consumer may linger for a while: the follower's own is the newest.
        const consumers: Array<{ created: string; leader: string }> = [];
        for await (const consumer of jsm.consumers.list(stream))
          consumers.push({ created: consumer.created, leader: consumer.cluster?.leader ?? "" });
        const newest = consumers.sort((a, b) => Date.parse(b.created) - Date.parse(a.created))[0];
        const leader = newest?.leader;
        if (!leader) throw new Error(`the follower's consumer has no leader yet: ${JSON.stringify(consumers)}`);
        return cluster.node(leader);
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  }

  it("resumes on a live server after the last message it saw, and hears what is published after the death", async () => {
    const home = guaranteed(cluster.nodes[0], "the cluster has members");
    let received = 0;
    // The follower talks to one member only; its consumer lands on any of the three: start over
    // until it is on another member than the follower's connection (the case nothing else catches).
    let host: NatsClusterNode | undefined;
    for (let attempt = 0; attempt < 20 && (host === undefined || host === home); attempt++) {
      await follower?.close();
      await link?.close();
      link = createNatsLink({ servers: [home.url], name: "follower-test", streams: [], replicas: 3, logger });
      follower = followStream({
        nats: link,
        logger,
        name: "test feed",
        stream,
        subject: "followed.>",
        startAt: () => ({ deliver_policy: DeliverPolicy.All }),
        onMessage: () => received++,
      });
      await follower.ready;
      host = await consumerHost();
    }
    if (host === undefined || host === home || follower === undefined)
      throw new Error("the follower's consumer never landed away from its connection's server");
    const feed = follower;

    const before = await publish("before");
    await waitFor(() => feed.lastSequence() >= before);
    await host.kill();
    const after = await publish("after");
    await waitFor(() => feed.lastSequence() >= after && feed.isCurrent(), { timeoutMs: 20_000 });
    expect(received).toBe(2);
  }, 60_000);
});
