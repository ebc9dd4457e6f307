// The review queue: the flagged samples, most suspicious first, as cards a reviewer decides
// with one key each. Pages load as the reviewer nears the end (keyset cursor, no offsets).

import { api } from "./api.js";
import { Bulk } from "./bulk.js";
import { describeThresholds } from "./charts.js";
import { card, classKeys, paint } from "./cards.js";
import { Decisions } from "./decisions.js";
import { byId, format, h, isolate, toast } from "./dom.js";
import { bindKeys } from "./keys.js";
import { Viewer } from "./viewer.js";
import { vocabulary } from "./vocabulary.js";

const PAGE_SIZE = 48;
const PREFETCH_CARDS = 8; // load the next page when focus gets this close to the end
const SUMMARY_DELAY_MS = 300; // one statistics request for a burst of decisions
// URL parameter -> the filter's field; a link from the overview sets them (given, suggested).
const FILTERS = {
  given: "filter-given", suggested: "filter-suggested", review: "filter-review",
  reviewer: "filter-reviewer", search: "filter-search",
};
const TOGGLES = { near: "filter-near", worth: "filter-worth", disputed: "filter-disputed" };
const SEARCH_DELAY_MS = 300; // one request once the reviewer stops typing
const RESUME_PAGES = 10; // pages read, at most, to open at the first pending card
const auditId = byId("queue").dataset.auditId;
const grid = byId("cards");
const state = {
  classes: [],
  order: [], // sample ids as shown
  cards: new Map(), // sample id -> card element
  cursor: null,
  exhausted: false,
  loading: null, // the page request on its way
  generation: 0, // bumped when the filters change; answers for older filters are dropped
  focus: -1,
};
const decisions = new Decisions(auditId, document.body.dataset.user, repaint);
let viewer = null;
let bulk = null;
let summaryTimer = null;

function repaint(sampleId) {
  const record = decisions.record(sampleId);
  if (!record) return;
  const look = { saving: record.saving > 0, selected: bulk.has(sampleId) };
  const element = state.cards.get(sampleId);
  if (element) paint(element, record.sample, record.shown, look);
  viewer.paint(record.sample, record.shown, look);
  clearTimeout(summaryTimer);
  summaryTimer = setTimeout(showSummary, SUMMARY_DELAY_MS);
}

function query() {
  const near = byId("filter-near").checked;
  const worth = byId(TOGGLES.worth).checked;
  return {
    // "Just above the threshold": not flagged, confidence from k to k + the server's band
    // (vocabulary.near_threshold_band), closest to k first.
    flagged: near || worth ? "false" : "true",
    near_threshold: near ? "true" : null,
    // "Worth a look": the unflagged samples the audit offers when its flags are few
    // (formats/worth_a_look.py decides which), most suspicious first.
    worth_a_look: worth ? "true" : null,
    order: near ? "margin" : "score",
    given_label: byId(FILTERS.given).value,
    suggested_label: byId(FILTERS.suggested).value,
    review: byId(FILTERS.review).value,
    reviewed_by: byId(FILTERS.reviewer).value.trim(),
    search: byId(FILTERS.search).value.trim(),
    // "The model still disagrees with a reviewer": flagged although an earlier round decided.
    prior_review: byId(TOGGLES.disputed).checked ? "true" : null,
  };
}

function add(sample) {
  if (state.cards.has(sample.sample_id)) return;
  decisions.track(sample);
  const element = card(sample, state.classes);
  state.cards.set(sample.sample_id, element);
  state.order.push(sample.sample_id);
  grid.append(element);
  repaint(sample.sample_id);
}

function showFooter(error) {
  const count = state.order.length;
  byId("load-more").hidden = state.exhausted || error !== undefined;
  let text = state.exhausted ? `All ${format.count(count)} samples shown.` : `${format.count(count)} samples shown; more load as you go.`;
  if (count === 0 && state.exhausted) text = "No samples match these filters.";
  if (error) text = `Could not load samples: ${error.message}`;
  byId("queue-status").textContent = text;
}

function loadMore() {
  if (state.loading || state.exhausted) return state.loading ?? Promise.resolve();
  const generation = state.generation;
  const request = api.samples(auditId, { ...query(), limit: PAGE_SIZE, cursor: state.cursor })
    .then((page) => {
      if (generation !== state.generation) return;
      page.items.forEach(add);
      state.cursor = page.next_cursor;
      state.exhausted = page.next_cursor === null;
      showFooter();
    })
    .catch((error) => showFooter(error))
    .finally(() => {
      if (generation === state.generation) state.loading = null;
    });
  state.loading = request;
  byId("queue-status").textContent = "Loading samples…";
  return request;
}

function cardAt(index) {
  return state.cards.get(state.order[index]);
}

/** Make card ``index`` the one the keys act on (one tab stop: the focused card). */
function markFocused(index) {
  cardAt(state.focus)?.classList.remove("is-focused");
  cardAt(state.focus)?.setAttribute("tabindex", "-1");
  state.focus = index;
  const element = cardAt(index);
  element.classList.add("is-focused");
  element.setAttribute("tabindex", "0");
  return element;
}

function focusCard(index) {
  if (state.order.length === 0) return;
  const element = markFocused(Math.max(0, Math.min(index, state.order.length - 1)));
  if (viewer.isOpen) openViewer();
  else element.focus();
  element.scrollIntoView({ block: "nearest" });
  if (state.focus >= state.order.length - PREFETCH_CARDS) loadMore();
}

async function move(step) {
  if (state.focus + step >= state.order.length && !state.exhausted) await loadMore();
  focusCard(state.focus + step);
}

function columns() {
  return getComputedStyle(grid).gridTemplateColumns.split(" ").filter(Boolean).length || 1;
}

function focusedId() {
  return state.order[state.focus];
}

/** One decision on several samples: one request, one undo, and a toast once it is saved. */
async function decideBatch(ids, action, label) {
  const saved = await decisions.decide(ids, action, label);
  if (saved) toast(`${format.plural(saved, "decision")} saved.`, "success");
}

/** A decision key decides the selected cards when there are any, else the focused one. */
function decideFocused(action, label) {
  if (bulk.applyAll(decideBatch, action, label)) return;
  const sampleId = focusedId();
  if (sampleId === undefined) return;
  decisions.decide([sampleId], action, label);
  move(1);
}

async function extendSelection(step) {
  const from = focusedId();
  if (from === undefined) return;
  await move(step);
  bulk.extend(from, focusedId());
}

function openViewer() {
  const record = decisions.record(focusedId());
  if (!record) return;
  const total = state.exhausted ? format.count(state.order.length) : `${format.count(state.order.length)}+`;
  viewer.show(record.sample, record.shown, { saving: record.saving > 0, selected: bulk.has(record.sample.sample_id) },
    `${state.focus + 1} of ${total}`);
}

async function showSummary() {
  // Only a headline: when it cannot be refreshed, the last one stays.
  const statistics = await api.statistics(auditId).catch(() => null);
  if (!statistics) return;
  const counts = statistics.flagged_reviews;
  const flagged = Object.values(counts).reduce((a, b) => a + b, 0);
  byId("queue-summary").textContent = `${format.count(flagged)} flagged · ` +
    `${format.count(flagged - (counts.pending ?? 0))} decided · ${format.count(counts.pending ?? 0)} pending · ` +
    describeThresholds(Object.values(statistics.thresholds));
}

/** The filters live in the URL too, so a reload or a shared link shows the same samples. */
function saveFilters() {
  const params = new URLSearchParams();
  for (const [name, id] of Object.entries(FILTERS)) if (byId(id).value && byId(id).value !== "any") params.set(name, byId(id).value);
  for (const [name, id] of Object.entries(TOGGLES)) if (byId(id).checked) params.set(name, "1");
  history.replaceState(null, "", `${location.pathname}${params.size ? `?${params}` : ""}`);
}

function restoreFilters() {
  const params = new URLSearchParams(location.search);
  for (const [name, id] of Object.entries(FILTERS)) if (params.has(name)) byId(id).value = params.get(name);
  for (const [name, id] of Object.entries(TOGGLES)) byId(id).checked = params.get(name) === "1";
}

/** The first card still pending, reading a few more pages when the loaded ones are all
 * decided; the first card when none is. */
async function firstPending() {
  const pending = () => state.order.findIndex((id) => !decisions.record(id).shown.action);
  for (let page = 1; pending() < 0 && !state.exhausted && page < RESUME_PAGES; page += 1) await loadMore();
  return Math.max(0, pending());
}

async function reload({ focus }) {
  const generation = (state.generation += 1);
  Object.assign(state, { order: [], cursor: null, exhausted: false, loading: null, focus: -1 });
  state.cards.clear();
  bulk.clear();
  grid.replaceChildren();
  saveFilters();
  await loadMore();
  if (generation !== state.generation || !state.order.length) return; // filters changed meanwhile
  const index = await firstPending();
  if (generation !== state.generation) return;
  markFocused(index);
  if (focus) cardAt(index).focus();
  cardAt(index).scrollIntoView({ block: "nearest" });
}

function onGridClick(event) {
  const holder = event.target.closest("[data-sample-id]");
  if (!holder) return;
  const sampleId = holder.dataset.sampleId;
  const button = event.target.closest("button[data-action]");
  if (button) decisions.decide([sampleId], button.dataset.action);
  else if (event.target.matches("input.select")) bulk.toggle(sampleId, event.target.checked, event.shiftKey);
  else if (event.target.closest(".media") && holder.classList.contains("card")) {
    markFocused(state.order.indexOf(sampleId));
    openViewer();
  }
}

function onRelabelChoice(event) {
  if (!event.target.matches(`select[data-action=${vocabulary.relabel}]`) || !event.target.value) return;
  const sampleId = event.target.closest("[data-sample-id]").dataset.sampleId;
  decisions.decide([sampleId], vocabulary.relabel, event.target.value);
  event.target.value = "";
}

function showLegend() {
  byId("class-legend").replaceChildren(...classKeys(state.classes));
  for (const id of [FILTERS.given, FILTERS.suggested]) {
    byId(id).append(...state.classes.map((name) => h("option", { value: name, text: isolate(name) })));
  }
}

function wire() {
  const shortcuts = byId("shortcuts");
  shortcuts.addEventListener("click", (event) => {
    if (event.target === shortcuts || event.target.closest("[data-close]")) shortcuts.close();
  });
  byId("show-shortcuts").addEventListener("click", () => shortcuts.showModal());
  let searchTimer = null;
  const typed = [FILTERS.reviewer, FILTERS.search];
  for (const id of [...Object.values(FILTERS), ...Object.values(TOGGLES)]) {
    // Back to the cards: otherwise the next decision key would go to the filter just changed.
    if (!typed.includes(id)) byId(id).addEventListener("change", () => reload({ focus: true }));
  }
  // Typed filters reload once the reviewer pauses, not at every key.
  for (const id of typed) {
    byId(id).addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => reload({ focus: false }), SEARCH_DELAY_MS);
    });
  }
  for (const root of [grid, byId("viewer")]) {
    root.addEventListener("click", onGridClick);
    root.addEventListener("change", onRelabelChoice);
  }
  grid.addEventListener("focusin", (event) => {
    const holder = event.target.closest(".card");
    if (holder) markFocused(state.order.indexOf(holder.dataset.sampleId));
  });
  byId("load-more").addEventListener("click", () => loadMore());
  new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) loadMore();
  }, { rootMargin: "400px" }).observe(byId("load-more").parentElement);
  bindKeys({
    decide: (action) => decideFocused(action),
    relabel: (number) => {
      if (number <= state.classes.length) decideFocused(vocabulary.relabel, state.classes[number - 1]);
      else toast(`There is no class ${number}; this audit has ${state.classes.length}.`, "warning");
    },
    undo: () => {
      const undone = decisions.undo();
      if (undone.length > 1) toast(`${format.plural(undone.length, "decision")} undone.`);
      if (state.cards.has(undone[0])) focusCard(state.order.indexOf(undone[0]));
    },
    select: () => {
      const sampleId = focusedId();
      if (sampleId !== undefined) bulk.toggle(sampleId, !bulk.has(sampleId), false);
    },
    extend: (step) => extendSelection(step),
    extendRow: (direction) => extendSelection(direction * columns()),
    clearSelection: () => {
      if (viewer.isOpen || bulk.size === 0) return false;
      bulk.clear();
      return true;
    },
    move: (step) => move(step),
    moveRow: (direction) => move(direction * columns()),
    open: () => openViewer(),
    help: () => (shortcuts.open ? shortcuts.close() : shortcuts.showModal()),
    canAct: () => !shortcuts.open,
  });
}

async function start() {
  const audit = await api.audit(auditId);
  if (audit.status !== "succeeded") {
    grid.replaceChildren(h("p", { class: "empty" }, `This audit is ${audit.status}; its samples can be reviewed once it is done. `,
      h("a", { href: `/audits/${auditId}`, text: "Back to the audit" })));
    byId("queue-status").textContent = "";
    return;
  }
  state.classes = audit.dataset.class_names ?? [];
  // The browser gives the focus back to the card that opened the view; the reviewer may
  // have moved on inside it since.
  viewer = new Viewer(byId("viewer"), state.classes, (sampleId) => focusCard(state.order.indexOf(sampleId)));
  bulk = new Bulk(state.classes, () => state.order, decideBatch, repaint);
  byId("filter-disputed").closest("label").hidden = !audit.parent_id;
  showLegend();
  restoreFilters();
  wire();
  showSummary();
  await reload({ focus: true });
}

start().catch((error) => toast(`Could not open the queue: ${error.message}`, "error"));
