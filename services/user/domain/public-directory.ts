import type { UserProfile } from "./profile.js";
import type { ProfileService } from "./profile-service.js";
import type { PublicLookupLimit } from "./public-lookup-limit.js";

/** Who asks for a public view: whether a valid token came with the call, and from which address. */
export interface Viewer {
  signedIn: boolean;
  ip: string;
}

export type PublicDirectory = ReturnType<typeof createPublicDirectory>;

/**
 * GetUser and GetUserByUsername: public views for anyone, with or without a token. Look-ups without
 * a valid token are limited per client network; a signed-in caller is known, and many signed-in
 * people may share one address (carrier NAT), so their look-ups are not counted.
 */
export function createPublicDirectory(deps: {
  profiles: Pick<ProfileService, "getPublic" | "getPublicByUsername">;
  limit: PublicLookupLimit;
}) {
  function admit(viewer: Viewer): void {
    if (!viewer.signedIn) deps.limit.take(viewer.ip);
  }

  return {
    async byId(viewer: Viewer, userId: string): Promise<UserProfile> {
      admit(viewer);
      return deps.profiles.getPublic(userId);
    },
    async byUsername(viewer: Viewer, username: string): Promise<UserProfile> {
      admit(viewer);
      return deps.profiles.getPublicByUsername(username);
    },
  };
}
