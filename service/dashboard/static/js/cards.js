// A sample as the review queue shows it: the image (in a fixed square, so nothing jumps
// while it loads) or the row's key feature values, the given and suggested labels, the
// model's confidence and score, the decision, and buttons for each decision.

import { format, h, isolate, revealed } from "./dom.js";
import { evidence, suggestedProbability } from "./evidence.js";
import { KEYED_DECISIONS, vocabulary } from "./vocabulary.js";

const TINY_IMAGE_PX = 128; // smaller images are scaled up with crisp pixels
// The thumbnail size the server makes for cards (service/thumbnails/service.py).
const CARD_PX = Number(document.body.dataset.cardPx);

// A decision that gives the sample no label (exclude) shows none.
const givesLabel = (action) => vocabulary.decisions[action].final_label_from !== null;

/** "Relabeled → washer · by bob", or "Pending". */
export function describeDecision(review) {
  if (!review.action) return "Pending";
  const text = vocabulary.decisions[review.action].text;
  const label = givesLabel(review.action) ? ` → ${isolate(review.final_label)}` : "";
  return `${text}${label}${review.reviewed_by ? ` · by ${isolate(review.reviewed_by)}` : ""}`;
}

export function shortId(sampleId) {
  return sampleId.split("/").at(-1);
}

function thumbnail(sample, size, alt) {
  const image = h("img", { src: `${sample.image_url}?size=${size}`, alt, decoding: "async", loading: "lazy" });
  image.addEventListener("load", () => {
    image.classList.toggle("is-tiny", image.naturalWidth < TINY_IMAGE_PX);
  }, { once: true });
  return image;
}

function featureList(features) {
  return h("dl", { class: "features" }, Object.entries(features).map(([name, value]) => h("div", {},
    h("dt", { title: name, userText: name }), h("dd", { text: String(Number(Number(value).toPrecision(4))) }))));
}

/** What the sample is: its image, or its feature values (larger in the large view, which
 * shows an image in its zoomable stage instead: see zoom.js). */
export function media(sample, { large = false } = {}) {
  const box = h("div", { class: `media ${large ? "media-large" : ""}` });
  if (sample.image_url) {
    box.classList.add("is-image");
    box.append(thumbnail(sample, CARD_PX, `Sample ${isolate(sample.sample_id)}`));
  } else if (sample.features) {
    box.classList.add("is-table");
    box.append(featureList(sample.features));
  } else {
    box.append(h("span", { class: "muted", text: `row ${sample.row_index + 1}` }));
  }
  return box;
}

/** "Accept the suggested label nut": a decision's description, naming the label it keeps. */
function describeAction(sample, action) {
  const { describe, final_label_from: source } = vocabulary.decisions[action];
  return source === "given_label" || source === "suggested_label" ? `${describe} ${isolate(sample[source])}` : describe;
}

/** Decision buttons; the queue handles their clicks by ``data-action`` (delegation). */
export function actionButtons(sample, classes) {
  const relabel = vocabulary.decisions[vocabulary.relabel];
  return h("div", { class: "decide" },
    KEYED_DECISIONS.map(([action, words]) => h("button", {
      type: "button", class: `button small decide-${action}`, "data-action": action,
      "aria-label": describeAction(sample, action), title: `${words.describe} (${words.key})`,
    }, `${words.verb} `, h("kbd", { text: words.key }))),
    h("select", { class: "relabel", "data-action": vocabulary.relabel, "aria-label": relabel.describe },
      h("option", { value: "", text: `${relabel.verb}…` }),
      classes.map((name, i) => h("option", { value: name, text: i < 9 ? `${i + 1}  ${isolate(name)}` : isolate(name) }))));
}

/** The classes with their relabel keys: "1 bolt", "2 nut"… (keys go up to 9). */
export function classKeys(classes) {
  return classes.map((name, i) => h("li", {}, i < 9 ? h("kbd", { text: String(i + 1) }) : null, h("span", { title: name, userText: name })));
}

/** The labels and numbers of a sample; shared by the card and the large view. */
export function facts(sample) {
  const probability = suggestedProbability(sample);
  return [
    h("div", { class: "label-change" },
      h("span", { class: "label label-given", title: `given label: ${isolate(sample.given_label)}`, userText: sample.given_label }),
      h("span", { class: "arrow", "aria-hidden": "true", text: "→" }),
      // The suggestion and its probability wrap as one.
      h("span", { class: "suggestion" },
        h("span", { class: "label label-suggested", title: `suggested label: ${isolate(sample.suggested_label)}`, userText: sample.suggested_label }),
        probability === null ? null : h("span", {
          class: "suggested-probability", title: "the model's probability of the suggested label over the flag window",
          text: format.percent(probability),
        }))),
    h("dl", { class: "scores" },
      h("div", { title: "The model's mean probability of the given label over the flag window" },
        h("dt", { text: "Confidence in given label" }), h("dd", { text: format.percent(sample.confidence) })),
      h("div", {}, h("dt", { text: "Score" }), h("dd", { text: format.decimal(sample.score) })),
      sample.flagged ? null : h("div", {}, h("dt", { text: "Flag" }), h("dd", { text: "not flagged" }))),
  ];
}

/** "Relabeled to inclusion by ana, round 1": a decision of an earlier round (re-audits). */
export function describePrior(prior) {
  const label = givesLabel(prior.action) ? ` ${isolate(prior.label)}` : "";
  return `${vocabulary.decisions[prior.action].prior}${label}${prior.reviewed_by ? ` by ${isolate(prior.reviewed_by)}` : ""}, round ${prior.round}`;
}

function priorNote(sample) {
  if (!sample.prior_review) return null;
  return h("p", { class: "prior", title: "a reviewer's decision from an earlier round, which this audit applied" },
    h("span", { class: "prior-tag", text: "Earlier round" }), describePrior(sample.prior_review));
}

export function card(sample, classes) {
  return h("article", { class: "card", tabindex: -1, "data-sample-id": sample.sample_id },
    media(sample),
    h("div", { class: "card-body" },
      h("div", { class: "card-top" },
        h("input", { type: "checkbox", class: "select", "aria-label": `Select sample ${isolate(sample.sample_id)}` }),
        h("span", { class: "sample-name", title: isolate(revealed(sample.sample_id)), userText: revealed(shortId(sample.sample_id)) })),
      facts(sample),
      priorNote(sample),
      evidence(sample),
      h("p", { class: "decision" }),
      actionButtons(sample, classes)));
}

/** Show ``review`` (perhaps not saved yet) on a card or the large view. */
export function paint(element, sample, review, { saving = false, selected = false } = {}) {
  element.dataset.decision = review.action ?? "pending";
  element.classList.toggle("is-saving", saving);
  element.classList.toggle("is-selected", selected);
  const decision = element.querySelector(".decision");
  decision.textContent = describeDecision(review) + (saving ? " · saving…" : "");
  const box = element.querySelector("input.select");
  if (box) box.checked = selected;
  element.setAttribute("aria-label", `${isolate(sample.sample_id)}: given ${isolate(sample.given_label)}, suggested ` +
    `${isolate(sample.suggested_label)}, confidence in the given label ${format.percent(sample.confidence)}, ${describeDecision(review)}` +
    (sample.prior_review ? `, earlier round: ${describePrior(sample.prior_review)}` : ""));
}
