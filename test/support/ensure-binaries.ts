// Finds the Postgres and NATS server binaries the test harness runs, and installs them from Debian's
// packages when they are absent, so that `npm test` works on a fresh machine that has only Node.
// Called once per test run from the global setup; workers only use the find* functions (and the
// browser test calls ensureChromium itself).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";

export interface Binaries {
  /** Folder holding initdb and postgres, or null when Postgres is not installed. */
  pgBinDir: string | null;
  /** Path of nats-server, or null when it is not installed. */
  natsServer: string | null;
}

/** What the machine has now; cheap (a few stat calls), so workers call it freely. */
export function findBinaries(): Binaries {
  return { pgBinDir: findPgBinDir(), natsServer: findNatsServer() };
}

function findPgBinDir(): string | null {
  // Debian keeps each major version's server binaries apart; initdb/postgres are not on PATH there.
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, "bin", "initdb")) && existsSync(join(root, v, "bin", "postgres")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0] !== undefined) return join(root, versions[0], "bin");
  // Other layouts (a developer's own machine): initdb next to postgres on PATH.
  const initdb = onPath("initdb");
  return initdb && existsSync(join(initdb, "..", "postgres")) ? join(initdb, "..") : null;
}

function findNatsServer(): string | null {
  return onPath("nats-server") ?? (existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : null);
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** The Debian packages to install for what is missing (pure, so its logic is unit-tested). */
export function missingPackages(found: Binaries): string[] {
  const packages: string[] = [];
  if (found.pgBinDir === null) packages.push("postgresql");
  if (found.natsServer === null) packages.push("nats-server");
  return packages;
}

/**
 * Installs what is missing with apt-get (we run as root in CI), then creates the `postgres` OS user
 * if needed, because initdb and postgres refuse to run as root. A failed install is not thrown here:
 * the caller decides, since TEST_DATABASE_URL / NATS_URL can stand in for a missing binary.
 */
export function ensureBinaries(log: (line: string) => void = console.log): Binaries {
  const packages = missingPackages(findBinaries());
  if (packages.length > 0) {
    if (!isRoot()) {
      log(
        `[test harness] missing ${packages.join(", ")}; not root, so not installing (install them, or set TEST_DATABASE_URL / NATS_URL)`,
      );
    } else {
      aptGetInstall(packages, log);
    }
  }
  const found = findBinaries();
  if (found.pgBinDir !== null && isRoot()) ensurePostgresUser(log);
  return found;
}

/**
 * apt-get install of Debian packages (we run as root in CI). A failed install is logged, not thrown:
 * callers check for the binary afterwards and decide.
 */
function aptGetInstall(packages: string[], log: (line: string) => void): void {
  log(`[test harness] installing ${packages.join(", ")} with apt-get`);
  // The postgresql package starts a system cluster on port 5432 through invoke-rc.d; the tests
  // run their own, so forbid service starts during the install (Debian's policy-rc.d hook).
  const policy = "/usr/sbin/policy-rc.d";
  const ownPolicy = !existsSync(policy);
  if (ownPolicy)
    writeFileSync(policy, "#!/bin/sh\n# test harness: start no services while installing\nexit 101\n", { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    // Lock timeout: another apt run on the machine (unattended upgrades, a parallel run) waits, not fails.
    const apt = ["-o", "DPkg::Lock::Timeout=300", "-q"];
    execFileSync("apt-get", [...apt, "update"], { stdio: "inherit", env });
    execFileSync("apt-get", [...apt, "install", "-y", "--no-install-recommends", ...packages], {
      stdio: "inherit",
      env,
    });
  } catch (error) {
    log(`[test harness] apt-get install ${packages.join(" ")} failed: ${(error as Error).message}`);
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
}

/** Debian's Chromium, for the browser test (test/browser/); null when it is not installed. */
export function findChromium(): string | null {
  return existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : onPath("chromium");
}

/**
 * Finds Chromium, installing Debian's `chromium` with apt-get when it is absent and we are root.
 * Called by the browser test only (not the global setup), so that runs without it do not pay for
 * a 300 MB install. Browser test tools' own downloads do not work here; Debian's package does.
 */
export function ensureChromium(log: (line: string) => void = console.log): string | null {
  if (findChromium() === null) {
    if (!isRoot()) {
      log("[test harness] missing chromium; not root, so not installing (apt-get install chromium)");
    } else {
      aptGetInstall(["chromium"], log);
    }
  }
  return findChromium();
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** The OS user Postgres runs as: `postgres` when we are root, otherwise ourselves (null). */
export function postgresOsUser(): { uid: number; gid: number } | null {
  if (!isRoot()) return null;
  const entry = execFileSync("getent", ["passwd", "postgres"], { encoding: "utf8" }).split(":");
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

function ensurePostgresUser(log: (line: string) => void): void {
  try {
    execFileSync("getent", ["passwd", "postgres"], { stdio: "ignore" });
  } catch {
    // Debian's postgresql package creates this user; binaries from elsewhere may not have.
    log("[test harness] creating the postgres OS user");
    execFileSync(
      "useradd",
      [
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/var/lib/postgresql",
        "--shell",
        "/bin/sh",
        "postgres",
      ],
      { stdio: "inherit" },
    );
  }
}
