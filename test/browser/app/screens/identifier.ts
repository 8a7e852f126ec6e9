import { IdentifierType, OtpPurpose } from "../../../../gen/mintcoin/auth/v1/auth_pb.js";
import { alertBox, el, field, onSubmit } from "../dom.js";
import { describeError } from "../error-words.js";
import type { Flow } from "../flow.js";
import { deviceId } from "../tokens.js";

/** Phone number or email -> SendOtp. One flow for new and returning people. */
export function identifierScreen(flow: Flow, notice?: string): HTMLElement {
  const input = el("input", {
    name: "identifier",
    type: "text",
    autocomplete: "username",
    required: true,
    autofocus: true,
  });
  const alert = alertBox();
  const form = el(
    "form",
    { novalidate: true },
    field("Phone number or email", input, "For example +44 7911 123456 or ada@example.com"),
    el("div", { class: "actions" }, el("button", { type: "submit", class: "primary" }, "Send code")),
    alert,
  );
  onSubmit(
    form,
    alert,
    async () => {
      const identifier = input.value.trim();
      // The person types either; an @ is what tells an email from a phone number.
      const identifierType = identifier.includes("@") ? IdentifierType.EMAIL : IdentifierType.PHONE;
      const sent = await flow.clients.publicAuth.sendOtp({
        identifier,
        identifierType,
        purpose: OtpPurpose.LOGIN,
        deviceId: deviceId(),
      });
      flow.toCode({
        identifier,
        identifierType,
        expiresAt: sent.expiresAt,
        resendAvailableAt: sent.resendAvailableAt,
        challengeId: sent.challengeId,
      });
    },
    (error) => describeError(error, "send-code"),
  );
  return el(
    "div",
    {},
    el("h2", {}, "Sign in or create an account"),
    notice ? el("p", { class: "note", role: "status" }, notice) : null,
    el("p", { class: "muted" }, "We'll send you a 6-digit code. No password needed."),
    form,
  );
}
