import type { Interceptor } from "@connectrpc/connect";
import { principalKey } from "../../shared/auth/principal.js";
import type { Logger } from "../../shared/logging.js";
import type { ActivityTracker } from "../domain/activity.js";

/**
 * Counts every authenticated call as activity of its caller. It does not wait for the (throttled)
 * write, so activity tracking never slows a request down nor fails one.
 */
export function createActivityInterceptor(activity: ActivityTracker, logger: Logger): Interceptor {
  // Made once, not per call; and the interceptor is not async: it awaits nothing.
  const onError = (error: unknown) => logger.warn({ err: error }, "could not record activity");
  return (next) => (request) => {
    const principal = request.contextValues.get(principalKey);
    if (principal) activity.touch(principal.userId)?.catch(onError);
    return next(request);
  };
}
