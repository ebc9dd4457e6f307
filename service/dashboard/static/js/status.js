// An audit's status as the list and the overview show it: a pill, and while it runs a
// progress bar with the epoch and the time left.

import { format, h, isolate, setVar } from "./dom.js";
import { countText, stageText, vocabulary } from "./vocabulary.js";

export const ACTIVE = new Set(vocabulary.active_statuses);

export function statusPill(status) {
  return h("span", { class: `pill pill-${status}`, text: vocabulary.statuses[status] ?? status });
}

/** "Held-out models, fold 1 of 2 · epoch 3 of 20 · about 12 s left": the stage, the epoch
 * while it trains, and the time left. */
export function progressText(audit) {
  const progress = audit.progress;
  if (audit.status === "queued" || !progress) return "Waiting for a worker";
  const parts = [stageText(progress.stage)];
  if (progress.epochs > 0) parts.push(countText(progress.stage, progress.epoch, progress.epochs));
  if (progress.eta_seconds !== null && progress.eta_seconds !== undefined) {
    parts.push(`about ${format.duration(progress.eta_seconds)} left`);
  }
  return parts.join(" · ");
}

/** The fraction done in [0, 1] (a succeeded audit is complete whatever it last reported). */
export function fractionDone(audit) {
  if (audit.status === "succeeded") return 1;
  return Math.min(1, Math.max(0, audit.progress?.fraction ?? 0));
}

/** A labelled bar; ``set`` it in place so that screen readers hear the change. */
export function meter(label) {
  const fill = h("span", { class: "bar-fill" });
  const bar = h("div", {
    class: "bar",
    role: "progressbar",
    "aria-label": label,
    "aria-valuemin": 0,
    "aria-valuemax": 100,
    "aria-valuenow": 0,
  }, fill);
  const text = h("span", { class: "bar-text" });
  return {
    element: h("div", { class: "progress" }, bar, text),
    set(fraction, description, waiting = false) {
      bar.setAttribute("aria-valuenow", String(Math.round(100 * fraction)));
      bar.setAttribute("aria-valuetext", description);
      bar.classList.toggle("is-waiting", waiting);
      setVar(bar, "--fraction", fraction);
      text.textContent = description;
    },
  };
}

/** An audit's progress bar: epoch n of N and the time left. */
export function progressBar(audit) {
  const bar = meter(`Progress of ${isolate(audit.name)}`);
  return {
    element: bar.element,
    update: (latest) => bar.set(fractionDone(latest), progressText(latest), latest.status === "queued"),
  };
}

/** The status cell: a pill, with the live progress bar while the audit is active. */
export function statusCell(audit) {
  const cell = h("div", { class: "status-cell" }, statusPill(audit.status));
  if (ACTIVE.has(audit.status)) {
    const bar = progressBar(audit);
    bar.update(audit);
    cell.append(bar.element);
  } else if (audit.status === "failed" && audit.error) {
    cell.append(h("span", { class: "status-error", title: audit.error, text: audit.error }));
  }
  return cell;
}
