import { timestampMs } from "@bufbuild/protobuf/wkt";
import { OtpPurpose } from "../../../../gen/mintcoin/auth/v1/auth_pb.js";
import { alertBox, busy, el, field, onSubmit } from "../dom.js";
import { describeError, type Step } from "../error-words.js";
import type { Flow, SentCode } from "../flow.js";
import { formatTime, formatWait } from "../format.js";
import { deviceId, tokens } from "../tokens.js";

/** The code -> VerifyOtp -> Login; or a new code, or another identifier. */
export function codeScreen(flow: Flow, sent: SentCode): HTMLElement {
  const input = el("input", {
    name: "code",
    type: "text",
    inputmode: "numeric",
    autocomplete: "one-time-code",
    maxlength: "6",
    required: true,
    autofocus: true,
  });
  const alert = alertBox();
  const resend = el("button", { type: "button", class: "secondary" }, "Send a new code");
  const other = el("button", { type: "button", class: "secondary" }, "Use a different phone or email");
  const form = el(
    "form",
    { novalidate: true },
    field("6-digit code", input),
    el(
      "div",
      { class: "actions" },
      el("button", { type: "submit", class: "primary" }, "Verify and sign in"),
      resend,
      other,
    ),
    alert,
  );
  // VerifyOtp and Login fail in different ways (a wrong code, a used verification token, a
  // suspended account), so the error words depend on which of the two was running.
  let step: Step = "verify-code";
  onSubmit(
    form,
    alert,
    async () => {
      step = "verify-code";
      const code = input.value.replace(/\s+/g, "");
      const { verificationToken } = await flow.clients.publicAuth.verifyOtp({
        ...identifierOf(sent),
        code,
        purpose: OtpPurpose.LOGIN,
        challengeId: sent.challengeId,
      });
      step = "sign-in";
      const login = await flow.clients.publicAuth.login({
        verificationToken,
        deviceId: deviceId(),
        deviceName: deviceName(),
      });
      if (!login.tokens) throw new Error("Login answered without tokens");
      tokens.save(login.tokens);
      await flow.afterSignIn(login);
    },
    (error) => describeError(error, step),
  );
  resend.addEventListener("click", () => {
    void busy(
      form,
      alert,
      async () => {
        const again = await flow.clients.publicAuth.sendOtp({
          ...identifierOf(sent),
          purpose: OtpPurpose.LOGIN,
          deviceId: deviceId(),
        });
        flow.toCode({
          ...sent,
          expiresAt: again.expiresAt,
          resendAvailableAt: again.resendAvailableAt,
          challengeId: again.challengeId,
        });
      },
      (error) => describeError(error, "send-code"),
    );
  });
  other.addEventListener("click", () => flow.toStart());
  holdUntil(resend, sent.resendAvailableAt ? timestampMs(sent.resendAvailableAt) : 0);

  return el(
    "div",
    {},
    el("h2", {}, "Enter your code"),
    el(
      "p",
      {},
      "We sent a 6-digit code to ",
      el("strong", {}, sent.identifier),
      sent.expiresAt ? `. It works until ${formatTime(sent.expiresAt)}.` : ".",
    ),
    form,
  );
}

function identifierOf(sent: SentCode) {
  return { identifier: sent.identifier, identifierType: sent.identifierType };
}

/** Keeps the resend button disabled, with a countdown, until the server will take another send. */
function holdUntil(button: HTMLButtonElement, availableAtMs: number): void {
  const label = button.textContent ?? "";
  let shown = false; // the screen is attached after this runs; stop once it is gone again
  const tick = () => {
    shown ||= button.isConnected;
    const left = Math.ceil((availableAtMs - Date.now()) / 1000);
    if (left <= 0 || (shown && !button.isConnected)) {
      button.disabled = false;
      button.textContent = label;
      clearInterval(timer);
      return;
    }
    button.disabled = true;
    button.textContent = `${label} (in ${formatWait(left)})`;
  };
  const timer = setInterval(tick, 1000);
  tick();
}

/** A name for the session list, e.g. "Chrome on Linux"; the services parse the User-Agent too. */
function deviceName(): string {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua)
    ? "Edge"
    : /Firefox\//.test(ua)
      ? "Firefox"
      : /Chrome\//.test(ua)
        ? "Chrome"
        : /Safari\//.test(ua)
          ? "Safari"
          : "A browser";
  const os = /Android/.test(ua)
    ? "Android"
    : /iPhone|iPad/.test(ua)
      ? "iOS"
      : /Windows/.test(ua)
        ? "Windows"
        : /Mac OS X/.test(ua)
          ? "macOS"
          : /Linux/.test(ua)
            ? "Linux"
            : "";
  return os ? `${browser} on ${os}` : browser;
}
