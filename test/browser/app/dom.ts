// The few DOM helpers the screens share. Text goes in with textContent (never innerHTML), so
// nothing a server or a person typed can become markup.

type Child = Node | string | null | false;
type Props = Record<string, string | boolean | undefined>;

/** el("button", { type: "submit", class: "primary" }, "Send code") */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child !== null && child !== false) node.append(child);
  }
  return node;
}

/** A labelled input: the label text is what a person (and the browser test) finds it by. */
export function field(label: string, input: HTMLInputElement | HTMLTextAreaElement, hint?: string): HTMLLabelElement {
  return el("label", {}, label, hint ? el("span", { class: "hint" }, hint) : null, input);
}

/** The place a screen shows its error, announced to screen readers. */
export function alertBox(): HTMLParagraphElement & { say(message: string | null): void } {
  const box = Object.assign(el("p", { class: "alert", role: "alert" }), {
    say(message: string | null) {
      box.textContent = message ?? "";
    },
  });
  return box;
}

/**
 * Runs a form's action with its buttons disabled, so a double click sends one request; the error
 * (if any) is turned into words by `describe` and shown in `alert`.
 */
export function onSubmit(
  form: HTMLFormElement,
  alert: ReturnType<typeof alertBox>,
  action: () => Promise<void>,
  describe: (error: unknown) => string,
): void {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void busy(form, alert, action, describe);
  });
}

export async function busy(
  container: HTMLElement,
  alert: ReturnType<typeof alertBox>,
  action: () => Promise<void>,
  describe: (error: unknown) => string,
): Promise<void> {
  // Buttons disabled for their own reasons (a resend countdown) stay disabled afterwards.
  const buttons = Array.from(container.querySelectorAll("button")).filter((button) => !button.disabled);
  for (const button of buttons) button.disabled = true;
  container.setAttribute("aria-busy", "true");
  alert.say(null);
  try {
    await action();
  } catch (error) {
    alert.say(describe(error));
  } finally {
    for (const button of buttons) button.disabled = false;
    container.removeAttribute("aria-busy");
  }
}
