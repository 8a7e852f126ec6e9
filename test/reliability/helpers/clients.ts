// Connect clients over HTTP/1.1 that can claim a client address in X-Forwarded-For, for services
// that trust 127.0.0.1 as their proxy (TRUSTED_PROXIES): tests then give each request, or each
// scenario, an address of its own, and per-IP limits count exactly what the test means them to.
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import { UserService } from "../../../gen/mintcoin/user/v1/user_pb.js";

let counter = 0;

/** A different TEST-NET-2 style address per call (198.18.0.0/15). */
export function freshAddress(): string {
  counter++;
  return `198.18.${Math.floor(counter / 250) % 250}.${(counter % 250) + 1}`;
}

function forwardedFor(address: () => string): Interceptor {
  return (next) => (request) => {
    request.header.set("x-forwarded-for", address());
    return next(request);
  };
}

export function authClientFrom(baseUrl: string, address: () => string = freshAddress): Client<typeof AuthService> {
  return createClient(
    AuthService,
    createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors: [forwardedFor(address)] }),
  );
}

export function userClientFrom(baseUrl: string, address: () => string = freshAddress): Client<typeof UserService> {
  return createClient(
    UserService,
    createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors: [forwardedFor(address)] }),
  );
}
