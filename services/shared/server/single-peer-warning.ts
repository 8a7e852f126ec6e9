import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logging.js";
import { requestInfoKey } from "./request-info.js";

/** Calls looked at before deciding; after the decision the interceptor only passes calls on. */
const sampleSize = 100;

/**
 * Warns once when the first calls all come from one peer while TRUSTED_PROXIES is empty. That is
 * what a load balancer or reverse proxy in front of the service looks like when nobody listed it:
 * every client then shares the proxy's address, so the per-IP limits count all of them as one
 * client (one busy network locks everyone out of SendOtp) and sessions record the proxy's address.
 * Install it only when no proxy is trusted (with one, the client address comes from the header).
 * A single local client (a developer, a test) also sees it; then it is harmless.
 */
export function createSinglePeerWarning(logger: Logger): Interceptor {
  let firstPeer: string | undefined;
  let seen = 0;
  let forwardedHeaders = 0;
  let decided = false;
  return (next) => (request) => {
    if (!decided) {
      const peer = request.contextValues.get(requestInfoKey).ip;
      if (request.header.has("x-forwarded-for") || request.header.has("forwarded")) forwardedHeaders++;
      firstPeer ??= peer;
      seen++;
      if (peer !== firstPeer) {
        decided = true;
      } else if (seen >= sampleSize) {
        decided = true;
        logger.warn(
          { peer: firstPeer, calls: seen, withForwardedFor: forwardedHeaders },
          `the first ${seen} calls all came from ${firstPeer} and TRUSTED_PROXIES is empty: if a proxy or load balancer is in front, every client shares its per-IP limits; list the proxy in TRUSTED_PROXIES`,
        );
      }
    }
    return next(request);
  };
}
