import { alertBox, el, field, onSubmit } from "../dom.js";
import { describeError } from "../error-words.js";
import type { Flow } from "../flow.js";

/**
 * A new user's profile -> UserService.CreateUser with the access token. The phone or email is not
 * asked for: the user service takes it from the identity the code proved.
 */
export function profileFormScreen(flow: Flow): HTMLElement {
  const username = el("input", {
    name: "username",
    type: "text",
    autocomplete: "username",
    required: true,
    autofocus: true,
  });
  const name = el("input", { name: "name", type: "text", autocomplete: "name", required: true });
  const bio = el("textarea", { name: "bio", rows: "3", maxlength: "500" });
  const alert = alertBox();
  const form = el(
    "form",
    { novalidate: true },
    field("Username", username, "3 to 30 letters, digits, _ or ."),
    field("Name", name),
    field("About you", bio, "Optional"),
    el("div", { class: "actions" }, el("button", { type: "submit", class: "primary" }, "Create profile")),
    alert,
  );
  onSubmit(
    form,
    alert,
    async () => {
      await flow.clients.user.createUser({
        username: username.value.trim(),
        name: name.value.trim(),
        bio: bio.value.trim(),
        registrationSource: "web",
      });
      await flow.toProfile();
    },
    (error) => describeError(error, "create-profile"),
  );
  return el(
    "div",
    {},
    el("h2", {}, "Create your profile"),
    el("p", { class: "muted" }, "You're signed in. Choose the username and name others will see."),
    form,
  );
}
