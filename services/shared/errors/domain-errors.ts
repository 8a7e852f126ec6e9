/**
 * Errors the domain throws on purpose. Each says what went wrong in words a client developer can act
 * on; errors/to-connect-error.ts turns them into gRPC codes with typed details. Anything else that
 * escapes a handler is an unexpected failure: logged with its cause, answered as INTERNAL.
 */
export abstract class DomainError extends Error {
  /** A stable, machine-readable reason (google.rpc.ErrorInfo.reason), e.g. "OTP_INVALID". */
  readonly reason: string;
  /** Facts a client acts on beside the reason (google.rpc.ErrorInfo.metadata), e.g. a maximum age. */
  readonly metadata: Readonly<Record<string, string>> = {};
  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.reason = reason;
  }
}

/** A request field is wrong in a way the .proto rules could not express. */
export class InvalidArgumentError extends DomainError {
  constructor(
    readonly field: string,
    message: string,
    reason = "INVALID_ARGUMENT",
  ) {
    super(reason, message);
  }
}

export class NotFoundError extends DomainError {
  constructor(message: string, reason = "NOT_FOUND") {
    super(reason, message);
  }
}

/** A username, phone or email (named by `field`) is taken, or the thing exists already. */
export class AlreadyExistsError extends DomainError {
  constructor(
    readonly field: string,
    message: string,
    reason = "ALREADY_EXISTS",
  ) {
    super(reason, message);
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(message = "sign in again: the access token is missing, invalid or expired", reason = "UNAUTHENTICATED") {
    super(reason, message);
  }
}

export class PermissionDeniedError extends DomainError {
  constructor(message: string, reason = "PERMISSION_DENIED") {
    super(reason, message);
  }
}

/** The request is well-formed but the system is not in a state that allows it (e.g. a blocked device). */
export class FailedPreconditionError extends DomainError {
  constructor(message: string, reason = "FAILED_PRECONDITION") {
    super(reason, message);
  }
}

/** A limit was hit; the client may retry after `retryAfterMs`. */
export class RateLimitedError extends DomainError {
  constructor(
    readonly retryAfterMs: number,
    message: string,
    reason = "RATE_LIMITED",
  ) {
    super(reason, message);
  }
}

/** A dependency needed for this request (e.g. the code delivery channel) is down; retry later. */
export class UnavailableError extends DomainError {
  constructor(message: string, reason = "UNAVAILABLE", options?: ErrorOptions) {
    super(reason, message, options);
  }
}
