import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../logging.js";
import type { ServiceMetrics } from "./service-metrics.js";

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Plain HTTP `GET /metrics` in the Prometheus text format, on a port of its own: scrapers need
 * no gRPC, and the RPC port can be exposed to the world while this one stays inside the network.
 */
export async function startMetricsServer(options: {
  host: string;
  port: number;
  metrics: ServiceMetrics;
  logger: Logger;
}): Promise<MetricsServer> {
  const { metrics, logger } = options;
  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://x").pathname;
    if (request.method !== "GET" || path !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found: try GET /metrics\n");
      return;
    }
    metrics.scrape().then(
      (text) => response.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      (error: unknown) => {
        logger.error({ err: error }, "metrics scrape failed");
        response.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n");
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: options.host, port }, "metrics listening on /metrics");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
