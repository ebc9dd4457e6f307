// Decisions as a reviewer makes them: shown at once, sent in order one batch at a time, each
// naming the version it replaces. A refusal rolls the sample back with a message; a version
// conflict (another reviewer decided first) shows their decision instead of overwriting it.
// Undo sends the state before the last decision (vocabulary.clear when the sample was pending).

import { api } from "./api.js";
import { isolate, revealed, toast } from "./dom.js";
import { describeDecision, shortId } from "./cards.js";
import { finalLabel, vocabulary } from "./vocabulary.js";

export class Decisions {
  /** ``onChange(sampleId)`` repaints a sample whenever what it shows changes. */
  constructor(auditId, reviewer, onChange) {
    this.auditId = auditId;
    this.reviewer = reviewer;
    this.onChange = onChange;
    // sample id -> {sample: as the server last said, shown: review on screen,
    //               nextVersion: what the next decision replaces, saving: requests on the way}
    this.records = new Map();
    this.undoStack = [];
    this.sending = Promise.resolve();
  }

  /** Keep a sample from a loaded page (unless decisions on it are still on their way). */
  track(sample) {
    const known = this.records.get(sample.sample_id);
    if (known?.saving) return;
    this.records.set(sample.sample_id, {
      sample, shown: sample.review, nextVersion: sample.review.version, saving: 0,
    });
  }

  record(sampleId) {
    return this.records.get(sampleId);
  }

  /** Apply one decision to samples; resolves to how many were saved once the server has
   * answered. */
  decide(sampleIds, action, label) {
    const change = sampleIds.map((id) => ({ id, before: this.records.get(id).shown }));
    const items = sampleIds.map((id) => this.stage(id, action, label));
    this.undoStack.push(change);
    return this.send(items, change);
  }

  /** Put back what the last decision replaced; returns the samples it touched. */
  undo() {
    const change = this.undoStack.pop();
    if (!change) {
      toast("Nothing to undo.");
      return [];
    }
    const items = change.map(({ id, before }) =>
      this.stage(id, before.action ?? vocabulary.clear, before.action === vocabulary.relabel ? before.final_label : undefined));
    this.send(items, null);
    return change.map(({ id }) => id);
  }

  stage(sampleId, action, label) {
    const record = this.records.get(sampleId);
    const item = { sample_id: sampleId, action, version: record.nextVersion };
    if (action === vocabulary.relabel) item.label = label;
    record.nextVersion += 1;
    record.saving += 1;
    const cleared = action === vocabulary.clear;
    record.shown = {
      action: cleared ? null : action,
      final_label: finalLabel(record.sample, action, label),
      reviewed_by: cleared ? null : this.reviewer,
      version: record.nextVersion,
    };
    this.onChange(sampleId);
    return item;
  }

  send(items, change) {
    this.sending = this.sending.then(() => this.post(items, change));
    return this.sending;
  }

  async post(items, change) {
    try {
      const answer = await api.review(this.auditId, items);
      for (const sample of answer.items) this.settle(sample);
      return answer.items.length;
    } catch (error) {
      // A decision that did not happen cannot be undone.
      if (change) this.undoStack = this.undoStack.filter((entry) => entry !== change);
      if (error.status === 409 && Array.isArray(error.details)) {
        return this.resolveConflicts(items, error.details);
      }
      for (const item of items) this.rollback(item.sample_id);
      toast(`Not saved: ${error.message}`, "error");
      return 0;
    }
  }

  /** Show the other reviewers' decisions, and send ours for the samples nobody touched. */
  async resolveConflicts(items, conflicts) {
    const taken = new Set(conflicts.map((conflict) => conflict.sample_id));
    const fresh = await Promise.all([...taken].map((id) => api.sample(this.auditId, this.records.get(id).sample.row_index)));
    for (const sample of fresh) this.settle(sample);
    const first = fresh[0];
    const others = fresh.length > 1 ? ` (and ${fresh.length - 1} more)` : "";
    toast(`${first.review.reviewed_by ? isolate(first.review.reviewed_by) : "Another reviewer"} changed ${isolate(revealed(shortId(first.sample_id)))} first${others}: ` +
      `${describeDecision(first.review)}. Their decision is kept; yours was not saved.`, "warning");
    const rest = items.filter((item) => !taken.has(item.sample_id));
    return rest.length ? this.post(rest, null) : 0;
  }

  settle(sample) {
    const record = this.records.get(sample.sample_id);
    record.sample = sample;
    record.saving = Math.max(0, record.saving - 1);
    if (record.saving === 0) {
      record.shown = sample.review;
      record.nextVersion = sample.review.version;
    }
    this.onChange(sample.sample_id);
  }

  rollback(sampleId) {
    const record = this.records.get(sampleId);
    record.saving = Math.max(0, record.saving - 1);
    record.shown = record.sample.review;
    record.nextVersion = record.sample.review.version;
    this.onChange(sampleId);
  }
}
