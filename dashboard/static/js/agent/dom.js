// DOM helpers for the agent page. Server data only ever goes in through textContent.

/** The element with data-testid=`id` under `root` (a missing one is a bug in the page). */
export function byTestId(root, id) {
  const found = root.querySelector(`[data-testid="${id}"]`);
  if (!found) {
    throw new Error(`agent page: no element data-testid="${id}"`);
  }
  return found;
}

export function setText(element, text) {
  const value = text == null ? "" : String(text);
  if (element.textContent !== value) {
    element.textContent = value;
  }
}

export function setShown(element, shown) {
  if (element.hidden === shown) {
    element.hidden = !shown;
  }
}

/** An error line: shown with the message, hidden without one. */
export function setError(element, message) {
  setText(element, message || "");
  setShown(element, Boolean(message));
}

export function setDisabled(element, disabled) {
  if (element.disabled !== disabled) {
    element.disabled = disabled;
  }
}

export function option(value, label) {
  const element = document.createElement("option");
  element.value = value;
  element.textContent = label;
  return element;
}

/** Replace a <select>'s options with `items` ({code, label}), keeping the choice if it is still offered. */
export function fillSelect(select, items, { placeholder } = {}) {
  const kept = select.value;
  const options = items.map((item) => option(item.code, item.label));
  if (placeholder) {
    options.unshift(option("", placeholder));
  }
  select.replaceChildren(...options);
  if ([...select.options].some((o) => o.value === kept)) {
    select.value = kept;
  }
}

/** A keypad: one button per key, calling `onKey(key)`. Keys carry data-key for tests. */
export function buildKeys(container, onKey, testidPrefix) {
  const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
  container.replaceChildren(
    ...keys.map((key) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "key";
      button.textContent = key;
      button.dataset.key = key;
      button.dataset.testid = `${testidPrefix}-${key === "*" ? "star" : key === "#" ? "hash" : key}`;
      button.addEventListener("click", () => onKey(key));
      return button;
    }),
  );
  return [...container.querySelectorAll("button")];
}
