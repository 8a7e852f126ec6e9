// Proves the harness itself: the databases, servers and failures that other tests rely on.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import { describe, expect, it, onTestFinished } from "vitest";
import { missingPackages } from "./ensure-binaries.js";
import { createTestDatabase, startNats, startPostgres, waitFor } from "./index.js";
import { repoRoot } from "./node-process.js";
import { hasExited } from "./process-tree.js";
import { startOnFreePort } from "./server-process.js";
import { serviceNodeArguments } from "./service-process.js";

async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

describe("createTestDatabase", () => {
  it("gives each caller its own empty, writable database", async () => {
    const [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    onTestFinished(async () => {
      await a.drop();
      await b.drop();
    });
    expect(a.url).not.toBe(b.url);
    await query(a.url, "create table t (v text)");
    await query(a.url, "insert into t values ('only in a')");

    expect(await query(a.url, "select v from t")).toEqual([{ v: "only in a" }]);
    await expect(query(b.url, "select v from t")).rejects.toThrow(/does not exist/);
  });

  it("drop() removes the database even while a connection is open", async () => {
    const db = await createTestDatabase();
    const client = new pg.Client({ connectionString: db.url });
    client.on("error", () => {}); // the forced drop terminates this connection
    await client.connect();

    await db.drop();

    await expect(query(db.url, "select 1")).rejects.toThrow(/does not exist/);
    await client.end().catch(() => {});
  });

  it.skipIf(process.env.TEST_DATABASE_URL)(
    "without TEST_DATABASE_URL, uses the run's own cluster, not the machine's Postgres",
    async () => {
      const db = await createTestDatabase();
      onTestFinished(() => db.drop());
      expect(new URL(db.url).port).not.toBe("5432");
    },
  );
});

describe("startNats", () => {
  it("serves JetStream and keeps a stream's messages across stop and start", async () => {
    const nats = await startNats();
    onTestFinished(() => nats.stop());
    expect(nats.url).not.toContain(":4222");

    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "HARNESS", subjects: ["harness.>"] });
    const ack = await jetstream(nc).publish("harness.one", "hello", { msgID: "m-1" });
    expect(ack.seq).toBe(1);
    await nc.close();

    await nats.stop();
    await nats.start();

    const nc2 = await connect({ servers: nats.url });
    const info = await (await jetstreamManager(nc2)).streams.info("HARNESS");
    expect(info.state.messages).toBe(1);
    const message = await (await jetstreamManager(nc2)).streams.getMessage("HARNESS", { seq: 1 });
    expect(message?.string()).toBe("hello");
    await nc2.close();
  });

  it("kill() drops connections at once; restart brings the server back on the same URL", async () => {
    const nats = await startNats();
    onTestFinished(() => nats.stop());
    const nc = await connect({ servers: nats.url, reconnect: false });
    const closed = nc.closed();

    await nats.kill();

    await closed;
    expect(nc.isClosed()).toBe(true);
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow();

    await nats.start();
    const again = await connect({ servers: nats.url });
    expect(await (await jetstreamManager(again)).getAccountInfo()).toBeTruthy();
    await again.close();
  });
});

describe("startPostgres", () => {
  it("keeps committed rows across restart and across a crash (kill)", async () => {
    const postgres = await startPostgres();
    onTestFinished(() => postgres.stop());
    expect(postgres.port).not.toBe(5432);
    await query(postgres.url(), "create table t (v int)");
    await query(postgres.url(), "insert into t values (1)");

    await postgres.restart();
    await query(postgres.url(), "insert into t values (2)");
    // Every process of the server, backends and background workers alike: each is a process group of
    // its own, which the SIGKILL of the server's group does not reach; kill() must end them too, or a
    // start() right after finds their shared memory still attached and refuses to run.
    const processes = (await query<{ pid: number }>(postgres.url(), "select pid from pg_stat_activity")).map(
      (row) => row.pid,
    );
    expect(processes.length).toBeGreaterThan(1);
    await postgres.kill();
    expect(processes.filter((pid) => !hasExited(pid))).toEqual([]);
    await expect(query(postgres.url(), "select 1")).rejects.toThrow();
    await postgres.start();

    expect(await query(postgres.url(), "select v from t order by v")).toEqual([{ v: 1 }, { v: 2 }]);
  });
});

describe("waitFor", () => {
  it("returns the first truthy value", async () => {
    let calls = 0;
    expect(await waitFor(() => ++calls >= 3 && calls, { intervalMs: 1 })).toBe(3);
  });

  it("rethrows the predicate's last error on timeout", async () => {
    await expect(waitFor(() => expect(1).toBe(2), { timeoutMs: 50 })).rejects.toThrow(/expected 1 to be 2/);
  });

  it("fails with a clear message when the condition stays false", async () => {
    await expect(waitFor(() => false, { timeoutMs: 50 })).rejects.toThrow(/still false after 50 ms/);
  });
});

describe("startOnFreePort", () => {
  it("tries another port when the chosen one was taken before the server could bind it", async () => {
    const tried: number[] = [];
    const port = await startOnFreePort(async (candidate) => {
      tried.push(candidate);
      if (tried.length === 1) throw new Error(`listen tcp 127.0.0.1:${candidate}: bind: address already in use`);
    });
    expect(tried).toHaveLength(2);
    expect(port).toBe(tried[1]);
  });
});

describe("service processes", () => {
  it("run with the node flags of npm run start:auth / start:user, built as deployed or from source through tsx", () => {
    const { scripts } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    for (const name of ["auth", "user"] as const) {
      const [node, ...deployed] = scripts[`start:${name}`]!.split(" ");
      const flags = deployed.slice(0, -1);
      expect(node).toBe("node");
      expect(flags.length).toBeGreaterThan(0);
      expect(serviceNodeArguments(name, "dist")).toEqual([...flags, join(repoRoot, deployed.at(-1)!)]);
      expect(serviceNodeArguments(name, "source", ["--cpu-prof"])).toEqual([
        ...flags,
        "--cpu-prof",
        "--import",
        expect.stringMatching(/^file:.*\/tsx\//),
        join(repoRoot, "services", name, "main.ts"),
      ]);
    }
  });
});

describe("ensureBinaries", () => {
  it("installs only the Debian packages whose binaries are missing", () => {
    expect(missingPackages({ pgBinDir: "/usr/lib/postgresql/15/bin", natsServer: "/usr/sbin/nats-server" })).toEqual(
      [],
    );
    expect(missingPackages({ pgBinDir: null, natsServer: "/usr/sbin/nats-server" })).toEqual(["postgresql"]);
    expect(missingPackages({ pgBinDir: null, natsServer: null })).toEqual(["postgresql", "nats-server"]);
  });
});
