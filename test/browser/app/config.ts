/** Where the services are: served by the page's own server as /config.json, so one build runs anywhere. */
export interface PageConfig {
  /** Base URL of the AuthService's Connect endpoint, e.g. http://127.0.0.1:50051 (another origin than the page). */
  authUrl: string;
  /** Base URL of the UserService's Connect endpoint, e.g. http://127.0.0.1:50052. */
  userUrl: string;
}

export async function loadConfig(): Promise<PageConfig> {
  const response = await fetch("/config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`GET /config.json answered ${response.status}`);
  const config = (await response.json()) as Partial<PageConfig>;
  if (typeof config.authUrl !== "string" || typeof config.userUrl !== "string") {
    throw new Error("/config.json must name authUrl and userUrl");
  }
  return { authUrl: config.authUrl, userUrl: config.userUrl };
}
