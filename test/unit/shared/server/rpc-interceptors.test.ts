import { Code, ConnectError, type ConnectRouter, createClient } from "@connectrpc/connect";
import { beforeEach, describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "../../../../gen/google/rpc/error_details_pb.js";
import { UserService } from "../../../../gen/mintcoin/user/v1/user_pb.js";
import {
  InvalidArgumentError,
  NotFoundError,
  RateLimitedError,
} from "../../../../services/shared/errors/domain-errors.js";
import { capturedLogger, inMemoryTransport } from "../../support/in-memory-rpc.js";

// The interceptor chain every listener runs, outermost first: logging, error mapping, .proto
// validation, text safety. Handlers here are one-liners that throw or record, so what is tested is
// what the chain makes of them, as a client sees it.

/** What GetMe and UpdateMe do in the current test, and how many calls got through to them. */
const behaviour: { getMe: () => void; updateMe: () => void; handled: number } = {
  getMe: () => {},
  updateMe: () => {},
  handled: 0,
};
const routes = (router: ConnectRouter) =>
  router.service(UserService, {
    async getMe() {
      behaviour.handled++;
      behaviour.getMe();
      return {};
    },
    async updateMe() {
      behaviour.handled++;
      behaviour.updateMe();
      return {};
    },
  });
const logs = capturedLogger();
// One client for the file (the .proto rules compile once per validator), logging to `logs`.
const client = createClient(UserService, inMemoryTransport(routes, { logger: logs.logger }));

beforeEach(() => {
  behaviour.getMe = () => {};
  behaviour.updateMe = () => {};
  behaviour.handled = 0;
  logs.lines.length = 0;
});

async function failureOf(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}

const throwing = (error: unknown) => () => {
  throw error;
};

describe("error mapping", () => {
  it("answers a domain error thrown in a handler with its code, reason and field violation", async () => {
    behaviour.getMe = throwing(
      new InvalidArgumentError("date_of_birth", "date_of_birth: not a real date", "DOB_INVALID"),
    );
    const error = await failureOf(client.getMe({}));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toBe("date_of_birth: not a real date");
    expect(error.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "DOB_INVALID", domain: "identity.mintcoin" });
    expect(error.findDetails(BadRequestSchema)[0]?.fieldViolations[0]).toMatchObject({ field: "date_of_birth" });
  });

  it("tells a rate-limited client when to retry, in RetryInfo and in retry-after", async () => {
    behaviour.getMe = throwing(new RateLimitedError(30_000, "slow down"));
    const error = await failureOf(client.getMe({}));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.findDetails(RetryInfoSchema)[0]?.retryDelay).toMatchObject({ seconds: 30n });
    expect(error.metadata.get("retry-after")).toBe("30");
  });

  it("answers an unexpected failure as INTERNAL with the request id and nothing of its cause, and logs the cause", async () => {
    behaviour.getMe = throwing(new TypeError("cannot read 'secret_column' of undefined"));
    const error = await failureOf(client.getMe({}, { headers: { "x-request-id": "req-00000001" } }));
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).toBe("internal error (request id req-00000001)");
    expect(error.details).toEqual([]);
    const logged = logs.lines.find((line) => line.msg === "unexpected failure");
    expect(logged).toMatchObject({ level: 50, requestId: "req-00000001", method: "GetMe" });
    expect(JSON.stringify(logged?.err)).toContain("secret_column");
  });

  it("answers a database that cannot be reached as UNAVAILABLE, for the client to retry", async () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    behaviour.getMe = throwing(refused);
    const error = await failureOf(client.getMe({}));
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).not.toContain("5432");
  });

  it("passes a ConnectError thrown on purpose through as it is", async () => {
    behaviour.getMe = throwing(new ConnectError("teapot", Code.Aborted));
    const error = await failureOf(client.getMe({}));
    expect(error).toMatchObject({ code: Code.Aborted, rawMessage: "teapot" });
  });
});

describe("logging and the request id", () => {
  it("echoes the request id on a success and on a failure", async () => {
    let echoed: string | null = null;
    const onHeader = (header: Headers) => {
      echoed = header.get("x-request-id");
    };
    await client.getMe({}, { headers: { "x-request-id": "req-00000002" }, onHeader });
    expect(echoed).toBe("req-00000002");
    behaviour.getMe = throwing(new NotFoundError("no profile"));
    const error = await failureOf(client.getMe({}, { headers: { "x-request-id": "req-00000003" } }));
    expect(error.metadata.get("x-request-id")).toBe("req-00000003");
  });

  it("logs each call once, a client's mistake at info and the server's failure at error", async () => {
    behaviour.getMe = throwing(new NotFoundError("no profile"));
    await failureOf(client.getMe({}));
    behaviour.getMe = throwing(new Error("bug"));
    await failureOf(client.getMe({}));
    const calls = logs.lines.filter((line) => line.msg === "rpc" || line.msg === "rpc failed");
    expect(calls.map((line) => [line.level, line.code])).toEqual([
      [30, "NotFound"],
      [50, "Internal"],
    ]);
    expect(calls[0]).toMatchObject({ method: "GetMe", service: "mintcoin.user.v1.UserService", ip: "203.0.113.7" });
  });

  it("logs a success at debug only", async () => {
    await client.getMe({});
    expect(logs.lines.map((line) => [line.level, line.msg, line.code])).toEqual([[20, "rpc", "ok"]]);
  });
});

describe("request checks before the handler", () => {
  it("refuses a request that breaks the .proto rules without calling the handler", async () => {
    const error = await failureOf(client.updateMe({ name: "" }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("name");
    expect(behaviour.handled).toBe(0);
  });

  it.each([
    ["name", { name: "A\u0000da" }],
    ["interests.values[1]", { interests: { values: ["chess", "go\u0000"] } }],
  ])("refuses a NUL character in %s, naming the field, without calling the handler", async (field, request) => {
    const error = await failureOf(client.updateMe(request));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("NUL_CHARACTER");
    expect(error.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field).toBe(field);
    expect(behaviour.handled).toBe(0);
  });

  it("lets a well-formed request through", async () => {
    await client.updateMe({ name: "Ada", dateOfBirth: "1990-07-15" });
    expect(behaviour.handled).toBe(1);
  });
});
