// Selecting several cards (click, shift-click for a range) and applying one decision to all
// of them in one batch (one request, all or nothing, undone together).

import { byId, h, isolate } from "./dom.js";
import { vocabulary } from "./vocabulary.js";

export class Bulk {
  /** ``order()`` lists the shown sample ids; ``apply(ids, action, label)`` decides. */
  constructor(classes, order, apply, repaint) {
    this.selected = new Set();
    this.anchor = null;
    this.order = order;
    this.repaint = repaint;
    const relabel = byId("bulk-relabel");
    relabel.append(...classes.map((name) => h("option", { value: name, text: isolate(name) })));
    byId("bulk-bar").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-bulk]");
      if (button) this.applyAll(apply, button.dataset.bulk);
    });
    relabel.addEventListener("change", () => {
      if (relabel.value) this.applyAll(apply, vocabulary.relabel, relabel.value);
      relabel.value = "";
    });
    byId("bulk-clear").addEventListener("click", () => this.clear());
  }

  has(sampleId) {
    return this.selected.has(sampleId);
  }

  get size() {
    return this.selected.size;
  }

  /** Select the samples from ``fromId`` to ``toId`` in the shown order (shift with an arrow). */
  extend(fromId, toId) {
    const ids = this.order();
    const [from, to] = [ids.indexOf(fromId), ids.indexOf(toId)].sort((a, b) => a - b);
    const targets = ids.slice(from, to + 1);
    for (const id of targets) this.selected.add(id);
    this.anchor = toId;
    this.refresh(targets);
  }

  /** A checkbox changed; with shift, everything from the last one clicked follows it. */
  toggle(sampleId, checked, range) {
    const ids = this.order();
    let targets = [sampleId];
    if (range && this.anchor !== null && ids.includes(this.anchor)) {
      const [from, to] = [ids.indexOf(this.anchor), ids.indexOf(sampleId)].sort((a, b) => a - b);
      targets = ids.slice(from, to + 1);
    }
    for (const id of targets) {
      if (checked) this.selected.add(id);
      else this.selected.delete(id);
    }
    this.anchor = sampleId;
    this.refresh(targets);
  }

  /** Decide on every selected sample in one batch; false when nothing is selected. */
  applyAll(apply, action, label) {
    const ids = this.order().filter((id) => this.selected.has(id));
    if (ids.length === 0) return false;
    apply(ids, action, label);
    this.clear();
    return true;
  }

  clear() {
    const ids = [...this.selected];
    this.selected.clear();
    this.anchor = null;
    this.refresh(ids);
  }

  refresh(changed) {
    for (const id of changed) this.repaint(id);
    const count = this.selected.size;
    byId("bulk-bar").hidden = count === 0;
    byId("bulk-count").textContent = `${count} selected`;
  }
}
