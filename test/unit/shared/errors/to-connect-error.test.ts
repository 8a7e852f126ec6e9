import { Code, type ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "../../../../gen/google/rpc/error_details_pb.js";
import {
  AlreadyExistsError,
  type DomainError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitedError,
  UnauthenticatedError,
  UnavailableError,
} from "../../../../services/shared/errors/domain-errors.js";
import { domainErrorToConnectError } from "../../../../services/shared/errors/to-connect-error.js";

// The single map from domain errors to gRPC codes, with the google.rpc details a client reads.

const errorInfoOf = (error: ConnectError) => error.findDetails(ErrorInfoSchema);

describe("domain errors as gRPC errors", () => {
  it.each<[string, DomainError, Code]>([
    ["InvalidArgumentError", new InvalidArgumentError("name", "name: too long"), Code.InvalidArgument],
    ["AlreadyExistsError", new AlreadyExistsError("username", "taken"), Code.AlreadyExists],
    ["NotFoundError", new NotFoundError("no such user"), Code.NotFound],
    ["UnauthenticatedError", new UnauthenticatedError(), Code.Unauthenticated],
    ["PermissionDeniedError", new PermissionDeniedError("admins only"), Code.PermissionDenied],
    ["FailedPreconditionError", new FailedPreconditionError("banned"), Code.FailedPrecondition],
    ["RateLimitedError", new RateLimitedError(1_000, "slow down"), Code.ResourceExhausted],
    ["UnavailableError", new UnavailableError("delivery is down"), Code.Unavailable],
  ])("answers %s with its code, its message and an ErrorInfo naming the reason", (_, error, code) => {
    const connectError = domainErrorToConnectError(error);
    expect(connectError.code).toBe(code);
    expect(connectError.rawMessage).toBe(error.message);
    expect(errorInfoOf(connectError)).toEqual([
      expect.objectContaining({ reason: error.reason, domain: "identity.mintcoin" }),
    ]);
    expect(connectError.cause).toBe(error);
  });

  it("keeps the reason a domain error was thrown with", () => {
    const connectError = domainErrorToConnectError(new FailedPreconditionError("banned", "ACCOUNT_BANNED"));
    expect(errorInfoOf(connectError)[0]?.reason).toBe("ACCOUNT_BANNED");
  });

  it("names the offending field in a BadRequest for INVALID_ARGUMENT and ALREADY_EXISTS", () => {
    for (const error of [
      new InvalidArgumentError("date_of_birth", "date_of_birth: not a real date"),
      new AlreadyExistsError("date_of_birth", "date_of_birth: taken"),
    ]) {
      expect(domainErrorToConnectError(error).findDetails(BadRequestSchema)).toEqual([
        expect.objectContaining({
          fieldViolations: [expect.objectContaining({ field: "date_of_birth", description: error.message })],
        }),
      ]);
    }
  });

  it("tells a rate-limited client when to retry, in RetryInfo and in a retry-after header of whole seconds", () => {
    const connectError = domainErrorToConnectError(new RateLimitedError(1_500, "slow down"));
    const [retryInfo] = connectError.findDetails(RetryInfoSchema);
    expect(retryInfo?.retryDelay).toMatchObject({ seconds: 1n, nanos: 500_000_000 });
    expect(connectError.metadata.get("retry-after")).toBe("2");
  });

  it("never tells a client to retry after zero seconds", () => {
    const connectError = domainErrorToConnectError(new RateLimitedError(0, "slow down"));
    expect(connectError.metadata.get("retry-after")).toBe("1");
    expect(connectError.findDetails(RetryInfoSchema)[0]?.retryDelay).toMatchObject({ seconds: 0n, nanos: 0 });
  });

  it("adds no field violation or retry advice where they mean nothing", () => {
    const connectError = domainErrorToConnectError(new NotFoundError("no such user"));
    expect(connectError.findDetails(BadRequestSchema)).toEqual([]);
    expect(connectError.findDetails(RetryInfoSchema)).toEqual([]);
    expect(connectError.metadata.has("retry-after")).toBe(false);
  });
});
