// The large view: the focused sample at full size in a modal over the queue. Esc closes it
// (native <dialog>); the queue's keys keep working inside, and moving shows the next sample.

import { actionButtons, classKeys, facts, media, paint } from "./cards.js";
import { h } from "./dom.js";

export class Viewer {
  /** ``onClose(sampleId)`` gets the sample shown last, to put the focus back on its card. */
  constructor(dialog, classes, onClose) {
    this.dialog = dialog;
    this.classes = classes;
    this.sampleId = null;
    dialog.addEventListener("close", () => {
      const shown = this.sampleId;
      this.sampleId = null;
      onClose(shown);
    });
    // A click on the backdrop (the dialog itself, outside its content) closes it too.
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog || event.target.closest("[data-close]")) dialog.close();
    });
  }

  get isOpen() {
    return this.dialog.open;
  }

  /** Show ``sample`` (opening the dialog if needed); ``position`` is "3 of 40". */
  show(sample, review, state, position) {
    this.sampleId = sample.sample_id;
    this.dialog.dataset.sampleId = sample.sample_id;
    this.dialog.replaceChildren(
      h("div", { class: "dialog-head" },
        h("h2", { id: "viewer-title", text: sample.sample_id }),
        h("span", { class: "muted", text: position }),
        h("button", { type: "button", class: "button ghost small", "data-close": "", "aria-label": "Close the large view" }, "Close ", h("kbd", { text: "Esc" }))),
      h("div", { class: "viewer-body" },
        media(sample, { large: true }),
        h("div", { class: "viewer-facts" },
          facts(sample),
          h("p", { class: "hint", text: `Row ${sample.row_index + 1} of the upload` }),
          h("p", { class: "decision" }),
          actionButtons(sample, this.classes),
          h("ol", { class: "class-legend", "aria-label": "Relabel keys" }, classKeys(this.classes)),
          h("p", { class: "hint", text: "← → previous / next · a accept · k keep · x exclude · u undo" }))));
    this.paint(sample, review, state);
    if (!this.dialog.open) this.dialog.showModal();
  }

  paint(sample, review, state) {
    if (this.sampleId === sample.sample_id) paint(this.dialog, sample, review, state);
  }
}
