import type { Session } from "../../../../gen/mintcoin/auth/v1/auth_pb.js";
import type { User } from "../../../../gen/mintcoin/user/v1/user_pb.js";
import { SignedOutError } from "../clients.js";
import { alertBox, busy, el } from "../dom.js";
import { describeError } from "../error-words.js";
import type { Flow } from "../flow.js";
import { formatDateTime } from "../format.js";
import { tokens } from "../tokens.js";

/** The profile (GetMe), where the person is signed in (ListSessions), and sign-out (Logout). */
export function profileScreen(flow: Flow, user: User, sessions: Session[]): HTMLElement {
  const alert = alertBox();
  const signOut = el("button", { type: "button", class: "primary" }, "Sign out");
  const actions = el("div", { class: "actions footer" }, signOut);
  signOut.addEventListener("click", () => {
    void busy(
      actions,
      alert,
      async () => {
        try {
          await flow.clients.auth.logout({});
        } catch (error) {
          // A session that already ended is as signed out as it gets; anything else is reported and
          // the tokens are kept, since the session is still alive on the server.
          if (!(error instanceof SignedOutError)) throw error;
        }
        tokens.clear();
        flow.toStart("You have signed out.");
      },
      (error) => describeError(error, "sign-out"),
    );
  });

  return el(
    "div",
    {},
    el("h2", {}, user.name),
    el("p", { class: "muted" }, `@${user.username}`),
    el(
      "dl",
      { class: "profile" },
      ...contactRows(user),
      el("dt", {}, "Profile"),
      el("dd", {}, `${user.profileCompletionPercent}% complete`),
      el("dt", {}, "Referral code"),
      el("dd", {}, user.referralCode),
      el("dt", {}, "Member since"),
      el("dd", {}, formatDateTime(user.createdAt)),
    ),
    el("h3", {}, "Where you're signed in"),
    el("ul", { class: "sessions", "aria-label": "Sessions" }, ...sessions.map(sessionItem)),
    actions,
    alert,
  );
}

function contactRows(user: User): HTMLElement[] {
  const rows: HTMLElement[] = [];
  if (user.email)
    rows.push(
      el("dt", {}, "Email"),
      el("dd", {}, user.email, user.emailVerified ? el("span", { class: "badge" }, "verified") : null),
    );
  if (user.phone)
    rows.push(
      el("dt", {}, "Phone"),
      el("dd", {}, user.phone, user.phoneVerified ? el("span", { class: "badge" }, "verified") : null),
    );
  return rows;
}

function sessionItem(session: Session): HTMLLIElement {
  const details = [
    session.ipAddress && `IP ${session.ipAddress}`,
    `signed in ${formatDateTime(session.createdAt)}`,
    `last active ${formatDateTime(session.lastUsedAt)}`,
  ].filter(Boolean);
  return el(
    "li",
    { class: session.current ? "current" : undefined, "aria-current": session.current ? "true" : undefined },
    el(
      "div",
      { class: "device" },
      session.deviceName || "Unnamed device",
      session.current ? el("span", { class: "badge" }, "This device") : null,
    ),
    el("div", { class: "detail" }, details.join(" · ")),
    session.userAgent ? el("div", { class: "detail" }, session.userAgent) : null,
  );
}
