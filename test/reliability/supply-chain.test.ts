import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// What ships: the production dependency tree (npm ls --omit=dev). Known-vulnerability checks need
// npm's advisory service (`npm run audit:prod`, i.e. npm audit --omit=dev --audit-level=high), which
// this workplace's registry does not offer (it answers the advisory request with 405); what can be
// checked offline is checked here, on every CI run.

const root = fileURLToPath(new URL("../../", import.meta.url));
const permissive = new Set([
  "MIT",
  "ISC",
  "Apache-2.0",
  "BSD-2-Clause",
  "BSD-3-Clause",
  "0BSD",
  "Unlicense",
  "CC0-1.0",
  "BlueOak-1.0.0",
]);

interface PackageJson {
  name: string;
  version: string;
  license?: string | { type: string };
  licenses?: Array<{ type: string }>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

function readPackage(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageJson;
}

function productionTree(): string[] {
  const output = execFileSync("npm", ["ls", "--omit=dev", "--all", "--parseable"], { cwd: root, encoding: "utf8" });
  return output.split("\n").filter(Boolean).slice(1); // the first line is the project itself
}

function licenceIds(pkg: PackageJson): string[] {
  const raw =
    typeof pkg.license === "string"
      ? pkg.license
      : (pkg.license?.type ?? pkg.licenses?.map((entry) => entry.type).join(" AND ") ?? "");
  return raw.split(/[\s()]+/).filter((token) => token && token !== "AND" && token !== "OR");
}

describe("supply chain of the production build", () => {
  it("every production package, direct and transitive, is under a permissive licence (no GPL or AGPL: ua-parser-js stays on 1.x)", () => {
    const tree = productionTree();
    expect(tree.length).toBeGreaterThan(20);
    const refused = tree
      .map(readPackage)
      .filter((pkg) => {
        const ids = licenceIds(pkg);
        return ids.length === 0 || ids.some((id) => !permissive.has(id));
      })
      .map((pkg) => `${pkg.name}@${pkg.version}: ${JSON.stringify(pkg.license ?? pkg.licenses ?? "none")}`);
    expect(refused).toEqual([]);
    const uaParser = tree.map(readPackage).find((pkg) => pkg.name === "ua-parser-js");
    expect(uaParser?.version).toMatch(/^1\./);
  });

  it("every dependency is pinned to an exact version, and the installed tree is the one package.json asks for", () => {
    const project = readPackage(root);
    const wanted = { ...project.dependencies, ...project.devDependencies };
    const loose = Object.entries(wanted).filter(([, version]) => !/^\d+\.\d+\.\d+$/.test(version));
    expect(loose).toEqual([]);
    const installed = Object.entries(wanted)
      .map(([name, version]) => [name, version, readPackage(join(root, "node_modules", name)).version] as const)
      .filter(([, version, actual]) => version !== actual);
    expect(installed).toEqual([]);
  });
});
