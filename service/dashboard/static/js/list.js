// The audits list: newest first, refreshed while audits run, with the admin's upload form.

import { api } from "./api.js";
import { byId, format, h, isolate, poll, revealed, toast } from "./dom.js";
import { ACTIVE, statusCell } from "./status.js";
import { initUpload } from "./upload.js";

const ACTIVE_POLL_MS = 1500;
const IDLE_POLL_MS = 10000;
const isAdmin = document.body.dataset.role === "admin";
const tbody = byId("audit-rows");
const moreButton = byId("audits-more");

// Newest first: the first page (refreshed by polling), then older pages as loaded.
let newest = [];
let older = [];
let olderCursor = null;
const rendered = new Map(); // audit id -> {json, row}, so unchanged rows keep focus
const uploadedHere = new Set(); // audits this page uploaded, highlighted

function nameCell(audit) {
  const detail = [audit.dataset.kind === "image" ? "Images" : "Table", isolate(revealed(audit.dataset.filename))];
  if (audit.dataset.class_names) detail.push(`${audit.dataset.class_names.length} classes`);
  return h("td", { class: "name-cell" },
    h("a", { href: `/audits/${audit.id}`, class: "audit-link", userText: audit.name }),
    audit.parent_id ? h("span", { class: "tag", text: "re-audit" }) : null,
    h("span", { class: "sub", text: detail.join(" · ") }));
}

/** A count; ``label`` names it where the phone layout has no column headings. */
function numberCell(label, value, note) {
  if (value === null || value === undefined) return h("td", { class: "num muted", "data-label": label, text: "—" });
  return h("td", { class: "num", "data-label": label }, format.count(value), note ? h("span", { class: "sub", text: note }) : null);
}

function actionsCell(audit) {
  const actions = h("td", { class: "actions-cell" });
  if (audit.status === "succeeded") {
    actions.append(h("a", {
      class: "button small", href: `/audits/${audit.id}/review`,
      "aria-label": `Review ${isolate(audit.name)}`, text: "Review",
    }));
  }
  if (isAdmin) {
    actions.append(h("button", {
      type: "button", class: "button small ghost danger", text: "Delete",
      "aria-label": `Delete ${isolate(audit.name)}`, onclick: () => removeAudit(audit),
    }));
  }
  return actions;
}

function row(audit) {
  const summary = audit.summary;
  const flaggedShare = summary && summary.samples ? format.percent(summary.flagged / summary.samples, 1) : null;
  return h("tr", { "data-audit-id": audit.id, class: uploadedHere.has(audit.id) ? "is-new" : null },
    nameCell(audit),
    h("td", { class: "created-cell", title: format.date(audit.created_at) },
      format.ago(audit.created_at), h("span", { class: "sub", text: `by ${audit.created_by}` })),
    h("td", {}, statusCell(audit)),
    numberCell("Samples", summary?.samples),
    numberCell("Flagged", summary?.flagged, flaggedShare),
    numberCell("Reviewed", summary?.reviewed),
    actionsCell(audit));
}

function shown() {
  return [...newest, ...older.filter((audit) => !newest.some((n) => n.id === audit.id))];
}

function render() {
  const rows = shown().map((audit) => {
    const json = JSON.stringify(audit);
    const known = rendered.get(audit.id);
    if (known && known.json === json) return known.row;
    const fresh = row(audit);
    known?.row.replaceWith(fresh);
    rendered.set(audit.id, { json, row: fresh });
    return fresh;
  });
  const order = [...tbody.children];
  if (rows.length !== order.length || rows.some((r, i) => r !== order[i])) tbody.replaceChildren(...rows);
  byId("audits-empty").hidden = rows.length > 0;
  byId("audits-empty").textContent = isAdmin
    ? "No audits yet. Upload a dataset above to start one."
    : "No audits yet. An admin uploads datasets; their audits appear here.";
}

async function refresh() {
  const page = await api.audits();
  newest = page.items;
  if (older.length === 0) olderCursor = page.next_cursor;
  moreButton.hidden = olderCursor === null;
  render();
}

async function loadOlder() {
  moreButton.disabled = true;
  try {
    const page = await api.audits(olderCursor);
    older = [...older, ...page.items];
    olderCursor = page.next_cursor;
    moreButton.hidden = olderCursor === null;
    render();
  } catch (error) {
    toast(`Could not load older audits: ${error.message}`, "error");
  } finally {
    moreButton.disabled = false;
  }
}

async function removeAudit(audit) {
  if (!confirm(`Delete "${isolate(audit.name)}" with its samples and reviews? This cannot be undone.`)) return;
  try {
    await api.remove(audit.id);
    newest = newest.filter((a) => a.id !== audit.id);
    older = older.filter((a) => a.id !== audit.id);
    render();
    toast(`Deleted ${isolate(audit.name)}.`, "success");
  } catch (error) {
    toast(`Could not delete: ${error.message}`, "error");
  }
}

moreButton.addEventListener("click", loadOlder);
const refreshNow = poll(refresh, () => (shown().some((audit) => ACTIVE.has(audit.status)) ? ACTIVE_POLL_MS : IDLE_POLL_MS));
initUpload((audit) => {
  uploadedHere.add(audit.id);
  newest = [audit, ...newest.filter((a) => a.id !== audit.id)];
  render();
  rendered.get(audit.id)?.row.querySelector("a")?.focus();
  // Back to the fast pace at once: the new audit starts within seconds.
  refreshNow();
});
