import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, RetryInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { SignedOutError } from "./clients.js";
import { formatWait } from "./format.js";

/** What the person was doing, since the same code means different things at different steps. */
export type Step = "send-code" | "verify-code" | "sign-in" | "create-profile" | "load-profile" | "sign-out";

/** An error from any RPC, in words a person can act on (never a stack or a bare status code). */
export function describeError(error: unknown, step: Step): string {
  if (error instanceof SignedOutError) return "Your session has ended. Please sign in again.";
  const e = ConnectError.from(error);
  switch (e.code) {
    case Code.ResourceExhausted: {
      const wait = retryAfterSeconds(e);
      const when = wait === null ? "later" : `in ${formatWait(wait)}`;
      return step === "send-code"
        ? `Too many codes were asked for. Try again ${when}.`
        : `Too many attempts. Try again ${when}.`;
    }
    case Code.InvalidArgument:
      return invalidArgument(e, step);
    case Code.Unauthenticated:
      if (step === "verify-code") return "That code is not right. Check it and try again.";
      if (step === "sign-in") return "That code can no longer be used. Ask for a new one.";
      return "Your session has ended. Please sign in again.";
    case Code.FailedPrecondition:
      if (step === "verify-code") return "This code has expired or was used up. Ask for a new one.";
      return e.rawMessage;
    case Code.AlreadyExists:
      if (fieldOf(e) === "username") return "That username is taken. Try another one.";
      if (step === "create-profile") return "This account already has a profile.";
      return e.rawMessage;
    case Code.PermissionDenied:
      // The server's message says why (blocked device, suspended until when, banned).
      return step === "sign-in"
        ? `You can't sign in: ${sentence(e.rawMessage)}`
        : `Not allowed: ${sentence(e.rawMessage)}`;
    case Code.Unavailable:
      return "The service is not available right now. Try again in a moment.";
    case Code.Unknown:
      // fetch() itself failed: offline, the server is down, or CORS refused this page's origin.
      if (e.cause instanceof TypeError) return "Can't reach the service. Check your connection and try again.";
      break;
  }
  return `Something went wrong (${Code[e.code]}). Try again.`;
}

function invalidArgument(e: ConnectError, step: Step): string {
  switch (fieldOf(e)) {
    case "identifier":
      return "That doesn't look like a phone number or an email address.";
    case "code":
      return "The code is the 6 digits we sent you.";
    case "username":
      return "A username is 3 to 30 letters, digits, _ or . and some names are reserved. Try another one.";
    case "name":
      return "Please tell us your name (up to 100 characters).";
    case "referred_by_code":
      return "That referral code belongs to nobody.";
  }
  if (step === "send-code") return "That doesn't look like a phone number or an email address.";
  return e.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.description ?? e.rawMessage;
}

/**
 * The request field an INVALID_ARGUMENT or ALREADY_EXISTS names: google.rpc.BadRequest from the
 * services' own rules, buf.validate.Violations from the .proto rules.
 */
function fieldOf(e: ConnectError): string | undefined {
  const badRequest = e.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field;
  if (badRequest) return badRequest;
  return e.findDetails(ViolationsSchema)[0]?.violations[0]?.field?.elements[0]?.fieldName;
}

/** A server message as the end of a sentence: one full stop, whatever the message ended with. */
function sentence(message: string): string {
  return `${message.replace(/[.\s]+$/, "")}.`;
}

/** From google.rpc.RetryInfo, or the Retry-After header the services also send (exposed by CORS). */
function retryAfterSeconds(e: ConnectError): number | null {
  const delay = e.findDetails(RetryInfoSchema)[0]?.retryDelay;
  if (delay) return Math.max(1, Math.ceil(Number(delay.seconds) + delay.nanos / 1e9));
  const header = Number(e.metadata.get("retry-after"));
  return Number.isFinite(header) && header > 0 ? Math.ceil(header) : null;
}
