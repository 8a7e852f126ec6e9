// Bundles the sign-in page with esbuild, in memory: nothing is written next to the sources.
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const appDir = join(dirname(fileURLToPath(import.meta.url)), "app");

export interface PageFile {
  body: string | Uint8Array;
  contentType: string;
}

/** The page's files by URL path: /index.html, /style.css, /main.js and its source map. */
export async function buildPage(): Promise<Map<string, PageFile>> {
  const result = await build({
    entryPoints: [join(appDir, "main.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    // Browsers from the last two years; the code uses nothing newer than ES2022.
    target: ["es2022", "chrome110", "firefox115", "safari16"],
    minify: true,
    sourcemap: "linked",
    outdir: join(appDir, "out"), // required for naming only: write is false
    write: false,
    logLevel: "silent",
  });
  const files = new Map<string, PageFile>();
  for (const output of result.outputFiles) {
    const name = basename(output.path);
    files.set(`/${name}`, {
      body: output.contents,
      contentType: name.endsWith(".map") ? "application/json" : "text/javascript; charset=utf-8",
    });
  }
  files.set("/index.html", {
    body: await readFile(join(appDir, "index.html"), "utf8"),
    contentType: "text/html; charset=utf-8",
  });
  files.set("/style.css", {
    body: await readFile(join(appDir, "style.css"), "utf8"),
    contentType: "text/css; charset=utf-8",
  });
  return files;
}
