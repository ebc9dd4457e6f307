// Strips of reference examples beside the large view: samples of a class the engine is
// surest are labeled right (highest given-label confidence, not flagged), so a reviewer can
// see what a typical "scratches" looks like next to the sample in question. A strip shows
// one example large and the others small; a key steps through them.

import { h, isolate, named, revealed } from "./dom.js";

// The thumbnail sizes the server makes for the dashboard (service/thumbnails/service.py).
const PREVIEW_PX = Number(document.body.dataset.cardPx);
const THUMB_PX = Number(document.body.dataset.stripPx);

export class ExampleStrip {
  /** ``role`` is "given" or "suggested"; ``key`` steps through it (Shift: backwards). */
  constructor(label, role, key, examples, excludedId) {
    this.examples = examples.filter((example) => example.sample_id !== excludedId && example.image_url);
    this.active = 0;
    this.preview = h("img", { class: "example-preview", alt: "", decoding: "async" });
    this.caption = h("figcaption", { class: "example-caption" });
    this.thumbs = this.examples.map((example, index) => h("button", {
      type: "button", class: "example-thumb", "aria-label": `Example ${index + 1}: ${isolate(example.sample_id)}`,
      onclick: () => this.show(index),
    }, h("img", { src: `${example.image_url}?size=${THUMB_PX}`, alt: "", loading: "lazy" })));
    const title = role === "given" ? `Typical “${named(label)}” (the given label)` : `Typical “${named(label)}” (the suggestion)`;
    this.element = h("section", { class: `examples examples-${role}`, "aria-label": title },
      h("h3", {}, title, " ", h("kbd", { text: key }), h("span", { class: "visually-hidden", text: ` steps through them` })),
      this.examples.length
        ? [h("figure", { class: "example-figure" }, this.preview, this.caption), h("div", { class: "example-thumbs" }, this.thumbs)]
        : h("p", { class: "hint", text: "No confidently labeled example of this class." }));
    if (this.examples.length) this.show(0);
  }

  show(index) {
    this.active = (index + this.examples.length) % this.examples.length;
    const example = this.examples[this.active];
    this.preview.src = `${example.image_url}?size=${PREVIEW_PX}`;
    this.preview.alt = `Reference example ${isolate(example.sample_id)}`;
    this.caption.textContent = `${this.active + 1} of ${this.examples.length} · ${isolate(revealed(example.sample_id.split("/").at(-1)))}`;
    this.thumbs.forEach((thumb, i) => thumb.classList.toggle("is-active", i === this.active));
    this.element.dataset.active = String(this.active);
  }

  step(direction) {
    if (this.examples.length) this.show(this.active + direction);
  }
}
