// "Worth a look": when an audit's flags are few, the overview shows the unflagged samples
// the model trusts least, with their evidence, so that "0 flagged" never reads as "clean"
// on its own. Which and how many is the server's rule (formats/worth_a_look.py: the
// summary's worth_a_look, the samples listing's worth_a_look filter); the cards here are
// for reading, the review queue's "worth a look" toggle decides them.

import { api } from "./api.js";
import { facts, media, shortId } from "./cards.js";
import { byId, format, h, isolate, revealed } from "./dom.js";
import { evidence } from "./evidence.js";
import { vocabulary } from "./vocabulary.js";

const SHOWN = 12; // cards on the overview; the queue lists them all

/** "Nothing was flagged, and the estimate expects 3 wrong labels." */
export function flaggedAgainstExpected(summary) {
  const flagged = summary.flagged === 0 ? "Nothing was flagged"
    : `${format.plural(summary.flagged, "sample")} ${summary.flagged === 1 ? "was" : "were"} flagged`;
  return `${flagged}, and the estimate expects ${format.plural(summary.expected_errors, "wrong label")}.`;
}

function worthCard(sample) {
  return h("article", { class: "card worth-card", "data-sample-id": sample.sample_id, "data-decision": sample.review.action ?? "pending" },
    media(sample),
    h("div", { class: "card-body" },
      h("div", { class: "card-top" },
        h("span", { class: "worth-tag", text: "Not flagged" }),
        h("span", { class: "sample-name", title: isolate(revealed(sample.sample_id)), userText: revealed(shortId(sample.sample_id)) })),
      facts(sample),
      evidence(sample)));
}

/** Fill the overview's panel for ``audit``; hidden unless its flags are few. Drawn once
 * per page: the list follows the stored scores, which do not change. */
export async function showWorthALook(audit) {
  const panel = byId("worth-a-look");
  const summary = audit.summary;
  if (panel.dataset.drawn || !summary.few_flagged || summary.worth_a_look === 0) return;
  const page = await api.samples(audit.id, { worth_a_look: "true", limit: SHOWN });
  panel.dataset.drawn = "1";
  const queue = `/audits/${audit.id}/review?worth=1`;
  const clean = summary.flagged === 0
    ? " That does not make the set clean: check these first."
    : " Check these beside the flagged ones before calling the rest clean.";
  panel.replaceChildren(
    h("div", { class: "worth-head" },
      h("div", {},
        h("h2", { class: "panel-title", id: "worth-heading", text: vocabulary.worth_a_look_title }),
        h("p", { class: "hint", id: "worth-claim" }, flaggedAgainstExpected(summary), clean,
          ` These ${format.plural(summary.worth_a_look, "sample")} were not flagged; the model is least sure of their given labels, most suspicious first.`,
          page.items.length < summary.worth_a_look ? ` The first ${format.count(page.items.length)} are shown here.` : "")),
      h("a", { class: `button ${summary.flagged === 0 ? "primary" : ""}`, id: "review-worth", href: queue,
        text: `Review ${summary.worth_a_look === 1 ? "it" : `all ${format.count(summary.worth_a_look)}`} in the queue` })),
    h("div", { class: "cards worth-cards", "aria-label": "Samples worth a look, not flagged, most suspicious first" },
      page.items.map(worthCard)));
  panel.hidden = false;
}
