// A throwaway NATS cluster with JetStream: N nats-server processes on 127.0.0.1 (natsServer(), the
// harness's one way to run nats-server), each with its own store directory and routes to the
// others, for tests that kill one member and watch the rest carry on. JetStream clustering needs a
// cluster name and a distinct server name per member; a stream's replicas are then spread over the
// members, and `$JS.API.STREAM.INFO.<name>` says which one leads it.
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { natsServer, natsServerBinary, type NatsServer } from "./nats.js";
import { freePort, makeTempDir } from "./server-process.js";
import { waitFor } from "./wait-for.js";

export interface NatsClusterNode extends NatsServer {
  /** The server name JetStream reports (stream info's `cluster.leader`, its replicas' names). */
  readonly name: string;
  /** nats://127.0.0.1:PORT */
  readonly url: string;
}

export interface NatsCluster {
  readonly nodes: readonly NatsClusterNode[];
  /** Every member's client URL. */
  readonly urls: readonly string[];
  /** The members' URLs comma-separated, as NATS_URL takes them. */
  readonly natsUrl: string;
  /** The member called `name` (a stream's leader, from stream info). */
  node(name: string): NatsClusterNode;
  /** Stops every member (SIGTERM). */
  stop(): Promise<void>;
}

/**
 * Starts `size` members and resolves once JetStream answers through the cluster (a metadata leader
 * is elected), so streams with `size` replicas can be created at once.
 */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const binary = natsServerBinary();
  if (binary === null) throw new Error("nats-server not found (the test global setup installs it with apt-get)");
  // Another test file may take a port between our check and the bind: then start over on new ones.
  for (let attempt = 1; ; attempt++) {
    const nodes = await clusterNodes(binary, size);
    try {
      await Promise.all(nodes.map((node) => node.start()));
      const cluster = clusterOf(nodes);
      await waitForJetStream(cluster.urls);
      return cluster;
    } catch (error) {
      await Promise.all(nodes.map((node) => node.kill()));
      if (attempt >= 3 || !/already in use/i.test((error as Error).message)) throw error;
    }
  }
}

async function clusterNodes(binary: string, size: number): Promise<NatsClusterNode[]> {
  const ports = new Set<number>();
  while (ports.size < size * 2) ports.add(await freePort());
  const [clientPorts, routePorts] = [[...ports].slice(0, size), [...ports].slice(size)];
  const dir = makeTempDir("nats-cluster");
  const clusterName = `test-${clientPorts[0]}`;
  const routeUrl = (port: number | undefined) => `nats://127.0.0.1:${port}`;
  return clientPorts.map((port, index) => {
    const name = `n${index + 1}`;
    const nodeDir = join(dir, name);
    mkdirSync(nodeDir);
    const others = routePorts.filter((_, other) => other !== index).map(routeUrl);
    const server = natsServer({
      binary,
      port,
      name,
      dir: nodeDir,
      args: ["--cluster_name", clusterName, "--cluster", routeUrl(routePorts[index]), "--routes", others.join(",")],
    });
    return { ...server, name, url: `nats://127.0.0.1:${port}` };
  });
}

function clusterOf(nodes: NatsClusterNode[]): NatsCluster {
  const urls = nodes.map((node) => node.url);
  return {
    nodes,
    urls,
    natsUrl: urls.join(","),
    node(name) {
      const node = nodes.find((candidate) => candidate.name === name);
      if (!node)
        throw new Error(`no cluster member is called ${name} (members: ${nodes.map((n) => n.name).join(", ")})`);
      return node;
    },
    async stop() {
      await Promise.all(nodes.map((node) => node.stop()));
    },
  };
}

/** Polls JetStream's account info until it answers: the members have elected a metadata leader. */
async function waitForJetStream(urls: readonly string[]): Promise<void> {
  const connection = await connect({ servers: [...urls], timeout: 2_000 });
  try {
    const jsm = await jetstreamManager(connection, { timeout: 2_000, checkAPI: false });
    await waitFor(async () => Boolean(await jsm.getAccountInfo()), { timeoutMs: 30_000, intervalMs: 100 });
  } finally {
    await connection.close();
  }
}
