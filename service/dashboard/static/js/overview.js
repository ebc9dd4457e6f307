// One audit at a glance: its progress while it runs; then summary numbers, the charts, the
// review progress, exports and (for admins) the re-audit with the reviewers' corrections.

import { api } from "./api.js";
import { barChart, histogram, reviewProgress } from "./charts.js";
import { balanced, byId, format, h, isolate, poll, revealed, toast } from "./dom.js";
import { heatmap } from "./heatmap.js";
import { ACTIVE, progressBar, statusPill } from "./status.js";
import { flaggedAgainstExpected, showWorthALook } from "./worth.js";

const RUNNING_POLL_MS = 1000;
// Other reviewers keep deciding: the review progress refreshes now and then.
const DONE_POLL_MS = 15000;
const auditId = byId("overview").dataset.auditId;
let audit = null;
let bar = null;

function describe(current) {
  const { dataset, config } = current;
  const classes = dataset.class_names ? `${dataset.class_names.length} classes` : null;
  const kind = dataset.kind === "image" ? "images" : "table";
  const epochs = config.epochs ? `${config.epochs} epochs` : "automatic epochs";
  return [
    `Uploaded by ${isolate(current.created_by)} ${format.ago(current.created_at)}`,
    [dataset.filename && isolate(revealed(dataset.filename)), kind, classes, format.bytes(dataset.size_bytes)].filter(Boolean).join(", "),
    `loss ${config.loss}, ${config.k == null ? "k per class" : `k ${config.k}`}, ${epochs}`,
  ].join(" · ");
}

function notices(current) {
  const items = [];
  if (current.parent_id) {
    const changes = current.corrections
      ? ` with ${format.plural(current.corrections.relabeled, "label")} corrected and ` +
        `${format.plural(current.corrections.excluded, "sample")} excluded`
      : "";
    items.push(h("p", { class: "notice" }, "Re-audit of ",
      h("a", { href: `/audits/${current.parent_id}`, text: "the previous audit" }), `${changes}.`));
  }
  if (current.status === "failed") {
    items.push(h("p", { class: "notice notice-error", role: "alert" },
      h("strong", { text: "The audit failed: " }), current.error ?? "no reason was recorded"));
  }
  if (current.status === "cancelled") items.push(h("p", { class: "notice", text: "This audit was cancelled." }));
  return items;
}

function tile(label, value, note) {
  return h("div", { class: "stat" },
    h("span", { class: "stat-label", text: label }),
    h("strong", { class: "stat-value", text: value }),
    note ? h("span", { class: "stat-note", text: note }) : null);
}

/** Round n against round n-1: what the decisions resolved and where the model disagrees. */
function roundSummary(current) {
  const rounds = current.summary.rounds;
  const panel = byId("round-summary");
  panel.hidden = !rounds;
  if (!rounds) return;
  const queue = `/audits/${current.id}/review`;
  panel.replaceChildren(
    h("h2", { class: "panel-title", id: "rounds-heading", text: `Round ${rounds.round} against round ${rounds.round - 1}` }),
    h("div", { class: "stats" },
      tile("Resolved", format.count(rounds.resolved), "flagged before, not any more"),
      tile("Still flagged", format.count(rounds.still_flagged), "flagged in both rounds"),
      tile("Decisions disputed", format.count(rounds.disputed), "a reviewer decided, the model still disagrees"),
      tile("New suspects", format.count(rounds.new_suspects), "flagged only in this round")),
    h("p", { class: "hint", id: "round-claim", text: flaggedAgainstExpected(current.summary) }),
    // Only nodes: replaceChildren would write a null as the text "null".
    ...(rounds.disputed
      ? [h("a", { class: "button", id: "review-disputed", href: `${queue}?disputed=1`, text: "Review the disputed decisions" })]
      : []));
}

function summaryTiles(current, statistics) {
  const summary = current.summary;
  const estimated = summary.expected_errors;
  const flaggedTotal = Object.values(statistics.flagged_reviews).reduce((a, b) => a + b, 0);
  const decided = flaggedTotal - (statistics.flagged_reviews.pending ?? 0);
  return [
    tile("Samples", format.count(summary.samples), current.dataset.kind === "image" ? "images" : "table rows"),
    tile("Flagged", format.count(summary.flagged), `of ${format.count(summary.expected_errors)} expected from the estimate`),
    tile("Estimated label errors", format.count(estimated), `${format.percent(estimated / summary.samples, 1)} of the samples`),
    tile("Decided", `${format.count(decided)} / ${format.count(flaggedTotal)}`, "flagged samples reviewed"),
    tile("Audit time", format.duration(summary.seconds), trainedOn(summary)),
  ];
}

// "on cpu, 20 epochs, checked mode, 64 px images, efficientnet-lite0 features in 12 s": the
// device and what the options left unset became.
function trainedOn(summary) {
  const parts = [`on ${summary.device}`];
  if (summary.epochs) parts.push(`${summary.epochs} epochs`);
  if (summary.mode) parts.push(`${summary.mode} mode`);
  if (summary.image_size) parts.push(`${summary.image_size} px images`);
  const backbone = summary.plan ? summary.plan.backbone : "none";
  if (backbone !== "none") {
    parts.push(`${backbone} features in ${format.duration(summary.feature_seconds || 0)}`);
  }
  return parts.join(", ");
}

async function showResults(current) {
  const statistics = await api.statistics(auditId);
  byId("summary-stats").replaceChildren(...summaryTiles(current, statistics));
  const errors = Object.entries(current.summary.estimated_errors).map(([label, value]) => ({ label, value }));
  // Bars and cells open the queue filtered to them (parameters the queue reads).
  const queue = (params) => `/audits/${auditId}/review?${new URLSearchParams(params)}`;
  barChart(byId("errors-chart"), errors, {
    axisTitle: "samples whose given label is probably wrong",
    label: "Estimated label errors per class",
    link: (entry) => queue({ given: entry.label }),
  });
  heatmap(byId("confusion-chart"), current.dataset.class_names ?? [], current.summary.confusion,
    (given, suggested) => queue({ given, suggested }));
  roundSummary(current);
  histogram(byId("confidence-chart"), statistics.confidence_bins, Object.values(statistics.thresholds));
  reviewProgress(byId("review-chart"), statistics.flagged_reviews);
  byId("audit-results").hidden = false;
  await showWorthALook(current);
}

function showRunning(current) {
  const panel = byId("audit-running");
  if (!bar) {
    bar = progressBar(current);
    panel.replaceChildren(h("h2", { class: "panel-title", text: "Auditing" }), bar.element,
      h("p", { class: "hint", text: "The page updates by itself; the results appear when the audit is done." }));
  }
  bar.update(current);
  panel.hidden = false;
}

function showActions(current) {
  const done = current.status === "succeeded";
  for (const id of ["open-queue", "export-suspects", "export-corrected", "reaudit"]) {
    const element = byId(id);
    if (element) element.hidden = !done;
  }
  // Nothing flagged: the worth-a-look panel's button leads to the queue instead.
  if (done && current.summary.flagged === 0) byId("open-queue").hidden = true;
  const cancel = byId("cancel-audit");
  if (cancel) cancel.hidden = !ACTIVE.has(current.status);
}

async function refresh() {
  const previous = audit;
  audit = await api.audit(auditId);
  byId("audit-status").replaceChildren(statusPill(audit.status));
  byId("audit-name").textContent = balanced(audit.name);
  byId("audit-meta").textContent = describe(audit);
  byId("audit-notices").replaceChildren(...notices(audit));
  showActions(audit);
  if (ACTIVE.has(audit.status)) showRunning(audit);
  else byId("audit-running").hidden = true;
  if (audit.status === "succeeded") {
    if (previous && ACTIVE.has(previous.status)) toast("The audit is done.", "success");
    await showResults(audit);
  }
}

/** How many decisions a re-audit now would apply, and what to ask before starting it
 * (null: nothing to ask); read afresh, as other reviewers keep deciding. */
async function reauditPlan() {
  const [current, statistics] = await Promise.all([api.audit(auditId), api.statistics(auditId)]);
  const decided = current.summary?.reviewed ?? 0;
  const pending = statistics.flagged_reviews.pending ?? 0;
  let question = null;
  if (decided === 0) {
    question = "No sample has a decision yet, so the re-audit would train on the same labels " +
      "and flag the same samples. Start it anyway?";
  } else if (pending > 0) {
    question = `${format.plural(pending, "flagged sample")} ${pending === 1 ? "is" : "are"} still pending. ` +
      `The re-audit applies only the ${format.plural(decided, "decision")} made so far. Start it now?`;
  }
  return { decided, question };
}

async function reaudit(button) {
  button.disabled = true;
  try {
    const { decided, question } = await reauditPlan();
    if (question && !confirm(question)) return;
    const child = await api.reaudit(auditId);
    byId("audit-notices").append(h("p", { class: "notice notice-success", role: "status" },
      decided ? `Re-audit started with ${format.plural(decided, "decision")} applied: `
        : "Re-audit started with no decisions to apply (the labels are as uploaded): ",
      h("a", { href: `/audits/${child.id}`, id: "reaudit-link", userText: child.name }), "."));
    toast("Re-audit queued.", "success");
  } catch (error) {
    toast(`Could not start the re-audit: ${error.message}`, "error");
  } finally {
    button.disabled = false;
  }
}

async function act(confirmation, action, done) {
  if (!confirm(confirmation)) return;
  try {
    await action();
    done();
  } catch (error) {
    toast(error.message, "error");
  }
}

byId("reaudit")?.addEventListener("click", (event) => reaudit(event.currentTarget));
byId("cancel-audit")?.addEventListener("click", () => act(
  "Stop this audit? Its worker stops at the next epoch.", () => api.cancel(auditId), refresh));
byId("delete-audit")?.addEventListener("click", () => act(
  "Delete this audit with its samples and reviews? This cannot be undone.",
  () => api.remove(auditId), () => location.assign("/")));
poll(refresh, () => {
  if (audit === null || ACTIVE.has(audit.status)) return RUNNING_POLL_MS;
  return audit.status === "succeeded" ? DONE_POLL_MS : null;
});
