import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
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
} from "./domain-errors.js";

const errorDomain = "identity.mintcoin";

/** Maps a domain error to its gRPC code, with google.rpc details a client can read. */
export function domainErrorToConnectError(error: DomainError): ConnectError {
  const details: ConstructorParameters<typeof ConnectError>[3] = [
    {
      desc: ErrorInfoSchema,
      value: create(ErrorInfoSchema, { reason: error.reason, domain: errorDomain, metadata: { ...error.metadata } }),
    },
  ];
  const metadata = new Headers();
  let code = Code.Internal;
  if (error instanceof InvalidArgumentError) {
    code = Code.InvalidArgument;
    details.push({
      desc: BadRequestSchema,
      value: create(BadRequestSchema, { fieldViolations: [{ field: error.field, description: error.message }] }),
    });
  } else if (error instanceof AlreadyExistsError) {
    code = Code.AlreadyExists;
    details.push({
      desc: BadRequestSchema,
      value: create(BadRequestSchema, { fieldViolations: [{ field: error.field, description: error.message }] }),
    });
  } else if (error instanceof RateLimitedError) {
    code = Code.ResourceExhausted;
    details.push({
      desc: RetryInfoSchema,
      value: create(RetryInfoSchema, { retryDelay: durationFromMs(Math.max(0, Math.ceil(error.retryAfterMs))) }),
    });
    // Also as a header, for clients that do not decode error details.
    metadata.set("retry-after", String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))));
  } else if (error instanceof NotFoundError) {
    code = Code.NotFound;
  } else if (error instanceof UnauthenticatedError) {
    code = Code.Unauthenticated;
  } else if (error instanceof PermissionDeniedError) {
    code = Code.PermissionDenied;
  } else if (error instanceof FailedPreconditionError) {
    code = Code.FailedPrecondition;
  } else if (error instanceof UnavailableError) {
    code = Code.Unavailable;
  }
  return new ConnectError(error.message, code, metadata, details, error);
}
