// The large view: the focused sample in a modal over the queue. Esc closes it (native
// <dialog>); the queue's keys keep working inside, and moving shows the next sample. An
// image is shown at its original resolution with zoom, pan and contrast (see zoom.js), the
// full confidence curve says why it was flagged, and strips of reference examples show
// what its given and its suggested class look like (see examples.js).

import { api } from "./api.js";
import { actionButtons, classKeys, facts, media, paint } from "./cards.js";
import { h, revealed } from "./dom.js";
import { evidence, topClasses } from "./evidence.js";
import { ExampleStrip } from "./examples.js";
import { KEYED_DECISIONS } from "./vocabulary.js";
import { ZoomStage } from "./zoom.js";

// "a accept · k keep · x exclude", as the server words the decisions.
const DECISION_HINT = KEYED_DECISIONS.map(([, words]) => `${words.key} ${words.verb.toLowerCase()}`).join(" · ");

// Keys that step through the strips (with Shift: backwards).
const STRIP_KEYS = { g: "given", s: "suggested" };

export class Viewer {
  /** ``onClose(sampleId)`` gets the sample shown last, to put the focus back on its card. */
  constructor(dialog, classes, onClose) {
    this.dialog = dialog;
    this.classes = classes;
    this.sampleId = null;
    this.auditId = dialog.closest("[data-audit-id]").dataset.auditId;
    this.examples = null; // the reference examples, fetched once when first needed
    this.adjust = { contrast: 100, brightness: 100 }; // kept from one sample to the next
    this.stage = null;
    this.strips = {};
    dialog.addEventListener("close", () => {
      const shown = this.sampleId;
      this.sampleId = null;
      onClose(shown);
    });
    // A click on the backdrop (the dialog itself, outside its content) closes it too.
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog || event.target.closest("[data-close]")) dialog.close();
    });
    // Before the queue's keys (on the document): a key handled here is not also a move.
    dialog.addEventListener("keydown", (event) => this.onKey(event));
  }

  get isOpen() {
    return this.dialog.open;
  }

  onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (event.target.closest?.("input, select, textarea")) return;
    const { key } = event;
    const strip = this.strips[STRIP_KEYS[key.toLowerCase()]];
    if (strip) strip.step(key === key.toLowerCase() ? 1 : -1);
    else if (!this.stage?.handleKey(key)) return;
    event.preventDefault();
  }

  /** Show ``sample`` (opening the dialog if needed); ``position`` is "3 of 40". */
  show(sample, review, state, position) {
    this.sampleId = sample.sample_id;
    this.dialog.dataset.sampleId = sample.sample_id;
    this.stage = sample.image_url ? new ZoomStage(sample, this.adjust) : null;
    this.strips = {};
    const strips = h("div", { class: "viewer-examples" });
    this.dialog.replaceChildren(
      h("div", { class: "dialog-head" },
        h("h2", { id: "viewer-title", userText: revealed(sample.sample_id) }),
        h("span", { class: "muted", text: position }),
        h("button", { type: "button", class: "button ghost small", "data-close": "", "aria-label": "Close the large view" }, "Close ", h("kbd", { text: "Esc" }))),
      h("div", { class: `viewer-body ${this.stage ? "has-stage" : ""}` },
        h("div", { class: "viewer-stage" }, this.stage ? this.stage.element : media(sample, { large: true })),
        h("div", { class: "viewer-facts" },
          facts(sample),
          evidence(sample, { large: true }),
          h("p", { class: "hint", text: `Row ${sample.row_index + 1} of the upload` }),
          h("p", { class: "decision" }),
          actionButtons(sample, this.classes),
          h("ol", { class: "class-legend", "aria-label": "Relabel keys" }, classKeys(this.classes)),
          h("p", { class: "hint", text: `← → previous / next · ${DECISION_HINT} · u undo${this.stage ? " · + − 0 zoom · g s examples" : ""}` })),
        this.stage ? strips : null));
    if (this.stage) this.showExamples(sample, strips);
    this.showTopClasses(sample);
    this.paint(sample, review, state);
    if (!this.dialog.open) this.dialog.showModal();
  }

  /** The top classes come with the sample resource, not with the queue's pages. */
  async showTopClasses(sample) {
    const figure = this.dialog.querySelector(".evidence-large");
    if (!figure) return;
    const full = await api.sample(this.auditId, sample.row_index).catch(() => null);
    if (this.sampleId !== sample.sample_id || !full) return;
    const list = topClasses(full);
    if (list) figure.append(list);
  }

  async showExamples(sample, holder) {
    this.examples ??= api.examples(this.auditId).then((answer) => answer.examples);
    const examples = await this.examples.catch(() => ({}));
    if (this.sampleId !== sample.sample_id) return;
    const roles = [["given", sample.given_label, "g"]];
    if (sample.suggested_label !== sample.given_label) roles.push(["suggested", sample.suggested_label, "s"]);
    for (const [role, label, key] of roles) {
      this.strips[role] = new ExampleStrip(label, role, key, examples[label] ?? [], sample.sample_id);
      holder.append(this.strips[role].element);
    }
  }

  paint(sample, review, state) {
    if (this.sampleId === sample.sample_id) paint(this.dialog, sample, review, state);
  }
}
