// Builds the services (`npm run build`) for the benchmark and the soak, which run dist/ as deployed,
// unless dist/ is already newer than every source file: a repeated run does not spend its first
// quarter-minute in tsc.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot as root } from "./node-process.js";

const stamp = join(root, "dist", ".build-stamp");

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

export function ensureBuilt(log: (line: string) => void, skip: boolean): void {
  if (skip) {
    log("not building: using dist/ as it is");
    return;
  }
  const sources = ["services", "gen", "tsconfig.json", "tsconfig.build.json", "package.json"].map((p) => join(root, p));
  const newestSource = Math.max(...sources.filter(existsSync).map(newestMtime));
  if (existsSync(stamp) && statSync(stamp).mtimeMs > newestSource) {
    log("dist/ is up to date");
    return;
  }
  log("npm run build");
  execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "inherit" });
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}
