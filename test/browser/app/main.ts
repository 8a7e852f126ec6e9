// The sign-in page: phone or email -> code -> (new user) profile -> profile with sessions -> sign out.
// Plain DOM, no framework; each screen is a function that returns its element (screens/).
import { Code, ConnectError } from "@connectrpc/connect";
import { createClients, SignedOutError } from "./clients.js";
import { loadConfig } from "./config.js";
import { alertBox, busy, el } from "./dom.js";
import { describeError } from "./error-words.js";
import type { Flow } from "./flow.js";
import { codeScreen } from "./screens/code.js";
import { identifierScreen } from "./screens/identifier.js";
import { profileFormScreen } from "./screens/profile-form.js";
import { profileScreen } from "./screens/profile.js";
import { tokens } from "./tokens.js";

const root = document.getElementById("app")!;

/** Replaces the screen and moves focus to its first field, as a page change would. */
function show(screen: HTMLElement, name: string): void {
  root.dataset.screen = name;
  root.replaceChildren(screen);
  screen.querySelector<HTMLElement>("[autofocus]")?.focus();
}

async function main(): Promise<void> {
  let config: Awaited<ReturnType<typeof loadConfig>>;
  try {
    config = await loadConfig();
  } catch (error) {
    show(el("p", { class: "alert", role: "alert" }, `This page is not set up: ${(error as Error).message}`), "broken");
    return;
  }
  const clients = createClients(config);

  const flow: Flow = {
    clients,
    toStart: (notice) => show(identifierScreen(flow, notice), "start"),
    toCode: (sent) => show(codeScreen(flow, sent), "code"),
    toProfileForm: () => show(profileFormScreen(flow), "profile-form"),
    afterSignIn: async (login) => (login.newUser ? flow.toProfileForm() : flow.toProfile()),
    async toProfile() {
      try {
        const [{ user }, { sessions }] = await Promise.all([clients.user.getMe({}), clients.auth.listSessions({})]);
        if (!user) throw new Error("GetMe answered without a user");
        show(profileScreen(flow, user, sessions), "profile");
      } catch (error) {
        // Signed in, but the profile was never created (the form was left half-way last time).
        if (error instanceof ConnectError && error.code === Code.NotFound) return flow.toProfileForm();
        if (error instanceof SignedOutError || (error instanceof ConnectError && error.code === Code.Unauthenticated)) {
          tokens.clear();
          return flow.toStart(describeError(error, "load-profile"));
        }
        show(
          retryScreen(() => flow.toProfile(), describeError(error, "load-profile")),
          "error",
        );
      }
    },
  };

  // A reload of this tab stays signed in: the refresh token kept in sessionStorage buys a new
  // access token (the old one lived only in memory and is gone).
  if (tokens.refreshToken() !== null) {
    await flow.toProfile();
  } else {
    flow.toStart();
  }
}

function retryScreen(retry: () => Promise<void>, message: string): HTMLElement {
  const alert = alertBox();
  alert.say(message);
  const button = el("button", { type: "button", class: "primary" }, "Try again");
  const screen = el(
    "div",
    {},
    el("h2", {}, "Your profile could not be loaded"),
    alert,
    el("div", { class: "actions footer" }, button),
  );
  button.addEventListener(
    "click",
    () => void busy(screen, alert, retry, (error) => describeError(error, "load-profile")),
  );
  return screen;
}

void main();
