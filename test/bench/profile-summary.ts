// Reads the .cpuprofile files that `node --cpu-prof` wrote for the service processes (on their
// graceful exit) and names where the time went: the top functions by self time, and the share of
// each package (node_modules/<name>, node: internals, our services/, GC).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  pid: number;
  process: string;
  busyMs: number;
  topFunctions: Array<{ share: number; frame: string }>;
  byArea: Array<{ share: number; area: string }>;
}

function area(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  if (url.startsWith("node:")) return "node: internals";
  const ours = /\/(services\/[^/]+|gen)\//.exec(url);
  return ours ? ours[1]! : url.split("/").slice(-2).join("/");
}

export function summarizeProfiles(dir: string, names: Map<number, string>, top = 15): ProfileSummary[] {
  const files = readdirSync(dir).filter((file) => file.endsWith(".cpuprofile"));
  return files.map((file) => {
    const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const self = new Map<string, number>();
    const areas = new Map<string, number>();
    let busy = 0;
    profile.samples.forEach((id, index) => {
      const node = byId.get(id);
      const delta = profile.timeDeltas[index] ?? 0;
      if (!node || node.callFrame.functionName === "(idle)") return;
      busy += delta;
      const { functionName, url, lineNumber } = node.callFrame;
      const frame =
        `${functionName || "(anonymous)"} ${url ? `${url.replace(/^.*\/(node_modules|services|gen)\//, "$1/")}:${lineNumber + 1}` : ""}`.trim();
      self.set(frame, (self.get(frame) ?? 0) + delta);
      const key = area(url, functionName);
      areas.set(key, (areas.get(key) ?? 0) + delta);
    });
    const pid = Number(/\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(file)?.[1] ?? 0);
    const share = (value: number) => Math.round((1000 * value) / busy) / 10;
    return {
      file,
      pid,
      process: names.get(pid) ?? "?",
      busyMs: Math.round(busy / 1000),
      topFunctions: [...self]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([frame, t]) => ({ share: share(t), frame })),
      byArea: [...areas]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([name, t]) => ({ share: share(t), area: name })),
    };
  });
}

export function formatProfiles(summaries: ProfileSummary[]): string {
  const out: string[] = [];
  for (const summary of summaries.filter((s) => s.busyMs > 200)) {
    out.push(`${summary.process} (pid ${summary.pid}), ${summary.busyMs} ms busy:`);
    out.push(
      `  by area: ${summary.byArea
        .slice(0, 10)
        .map((a) => `${a.area} ${a.share}%`)
        .join(", ")}`,
    );
    for (const fn of summary.topFunctions) out.push(`  ${String(fn.share).padStart(5)}%  ${fn.frame}`);
  }
  return out.join("\n");
}
