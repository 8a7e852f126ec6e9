// A tiny static server for the sign-in page, on its own origin (not the services'), so the page's
// calls are cross-origin and need the services' CORS_ORIGINS, as a real deployment's would.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { PageConfig } from "./app/config.js";
import type { PageFile } from "./build.js";

export interface StaticServer {
  /** http://127.0.0.1:PORT: the origin to put in the services' CORS_ORIGINS. */
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves `files`, and GET /config.json from `config()` (read per request, so the services can be
 * started after this server, once its origin is known).
 */
export async function startStaticServer(options: {
  files: Map<string, PageFile>;
  config: () => PageConfig;
  host?: string;
  port?: number;
}): Promise<StaticServer> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://page").pathname;
    const config = options.config();
    const file: PageFile | undefined =
      path === "/config.json"
        ? { body: JSON.stringify(config), contentType: "application/json" }
        : options.files.get(path === "/" ? "/index.html" : path);
    if (request.method !== "GET" || !file) {
      response.writeHead(request.method === "GET" ? 404 : 405, { "content-type": "text/plain" });
      response.end("not found\n");
      return;
    }
    response.writeHead(200, {
      "content-type": file.contentType,
      "cache-control": "no-store",
      // The page may talk only to itself and the two services: an injected script could not send
      // a token elsewhere, and no inline script runs at all.
      "content-security-policy": `default-src 'self'; connect-src 'self' ${config.authUrl} ${config.userUrl}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'`,
      "referrer-policy": "no-referrer",
      "x-content-type-options": "nosniff",
    });
    response.end(file.body);
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
