// The review queue's keyboard: one key per decision, so that a reviewer never needs the
// mouse. Keys typed into a form field (a filter, the relabel list) stay with the field.

import { KEYED_DECISIONS } from "./vocabulary.js";

// Key -> decision, as the server words them (service/dashboard/vocabulary.py).
const DECISION_KEYS = Object.fromEntries(KEYED_DECISIONS.map(([action, words]) => [words.key, action]));
const MOVES = {
  ArrowLeft: -1,
  ArrowRight: 1,
  j: -1,
  l: 1,
};

function isFormField(target) {
  return Boolean(target.closest?.("input:not([type=checkbox]), select, textarea, [contenteditable]"));
}

/**
 * Listen for the shortcuts; ``handlers`` has decide(action), relabel(n), undo(), move(step),
 * moveRow(direction), select() (toggle the focused card), extend(step) and
 * extendRow(direction) (shift with an arrow: move and select), clearSelection() (false when
 * there was none), open(), help() and canAct() (false while a dialog other than the large
 * view is open).
 */
export function bindKeys(handlers) {
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (isFormField(event.target)) return;
    const { key } = event;
    if (key === "?") {
      handlers.help();
    } else if (!handlers.canAct()) {
      return;
    } else if (event.shiftKey && (key === "ArrowLeft" || key === "ArrowRight")) {
      handlers.extend(MOVES[key]);
    } else if (event.shiftKey && (key === "ArrowUp" || key === "ArrowDown")) {
      handlers.extendRow(key === "ArrowUp" ? -1 : 1);
    } else if (key === "s") {
      handlers.select();
    } else if (key === "Escape") {
      // Inside the large view Escape closes it; in the queue it drops the selection.
      if (!handlers.clearSelection()) return;
    } else if (key in DECISION_KEYS) {
      handlers.decide(DECISION_KEYS[key]);
    } else if (/^[1-9]$/.test(key)) {
      handlers.relabel(Number(key));
    } else if (key === "u") {
      handlers.undo();
    } else if (key in MOVES) {
      handlers.move(MOVES[key]);
    } else if (key === "ArrowUp" || key === "ArrowDown") {
      handlers.moveRow(key === "ArrowUp" ? -1 : 1);
    } else if ((key === "Enter" || key === " ") && event.target.classList?.contains("card")) {
      // Only on the card itself: on its buttons and checkbox these keys keep their meaning.
      handlers.open();
    } else {
      return;
    }
    event.preventDefault();
  });
}
