// Why a sample was flagged: the model's confidence in the *given* label after each epoch
// (a curve with the class's threshold k and the flag window marked), the classes the model
// prefers, and one plain sentence that says the same. The sentence is the server's
// (`flag_reason`, service/audits/flag_reason.py): it follows the stored flag and the
// predictions that decided it, which the page cannot tell from the curve alone.

import { format, h, isolate, svg } from "./dom.js";

const SPARK = { width: 200, height: 44, pad: { left: 2, right: 2, top: 4, bottom: 4 } };
const CURVE = { width: 560, height: 200, pad: { left: 34, right: 10, top: 10, bottom: 26 } };

/** The suggested label's probability over the window (the model's top class), or null. */
export function suggestedProbability(sample) {
  return sample.suggested_probability ?? null;
}

/** The curve as an SVG: window shaded, k dashed, one point per epoch. */
export function confidenceChart(sample, { large = false } = {}) {
  const box = large ? CURVE : SPARK;
  const { width, height, pad } = box;
  const epochs = sample.history.length;
  const x = (epoch) => pad.left + (epochs > 1 ? (epoch - 1) / (epochs - 1) : 0.5) * (width - pad.left - pad.right);
  const y = (value) => pad.top + (1 - value) * (height - pad.top - pad.bottom);
  const points = sample.history.map((value, i) => `${x(i + 1).toFixed(1)},${y(value).toFixed(1)}`).join(" ");
  const flagWindow = sample.window ?? [];
  const shade = flagWindow.length ? svg("rect", {
    class: "flag-window", x: x(flagWindow[0]) - (flagWindow.length > 1 ? 0 : 2), y: pad.top,
    width: Math.max(x(flagWindow.at(-1)) - x(flagWindow[0]), 4), height: height - pad.top - pad.bottom,
  }) : null;
  const k = sample.threshold;
  const threshold = k === null || k === undefined ? null : svg("line", {
    class: "threshold", x1: pad.left, x2: width - pad.right, y1: y(k), y2: y(k),
  });
  const label = `Confidence in the given label “${isolate(sample.given_label)}” after each of ${epochs} epochs` +
    `${k === null || k === undefined ? "" : `, threshold k = ${format.decimal(k)}`}` +
    `${flagWindow.length ? `, flag window epochs ${flagWindow[0]}–${flagWindow.at(-1)}` : ""}`;
  const parts = [svg("title", {}, label), shade, threshold,
    svg("polyline", { class: "curve", points }),
    large ? sample.history.map((value, i) => svg("circle", { class: "epoch", cx: x(i + 1), cy: y(value), r: 2.5 },
      svg("title", {}, `epoch ${i + 1}: ${format.percent(value)}`))) : null];
  if (large) parts.push(axes(box, x, y, epochs, k));
  return svg("svg", {
    viewBox: `0 0 ${width} ${height}`, class: `confidence-chart ${large ? "is-large" : "is-spark"}`,
    role: "img", "aria-label": label, preserveAspectRatio: large ? "xMidYMid meet" : "none",
  }, parts);
}

function axes({ width, height, pad }, x, y, epochs, k) {
  const text = (props, content) => svg("text", props, content);
  const bottom = height - pad.bottom;
  return svg("g", { class: "axes" },
    svg("line", { class: "axis", x1: pad.left, x2: pad.left, y1: pad.top, y2: bottom }),
    svg("line", { class: "axis", x1: pad.left, x2: width - pad.right, y1: bottom, y2: bottom }),
    [0, 0.5, 1].map((tick) => text({ x: pad.left - 6, y: y(tick) + 4, "text-anchor": "end" }, format.percent(tick))),
    k === null || k === undefined ? null : text({ x: width - pad.right, y: y(k) - 4, "text-anchor": "end", class: "threshold-label" }, `k = ${format.decimal(k)}`),
    text({ x: x(1), y: bottom + 16, "text-anchor": "start" }, "epoch 1"),
    text({ x: x(epochs), y: bottom + 16, "text-anchor": "end" }, `epoch ${epochs}`));
}

/** The model's preferred classes: "inclusion 91% · patches 6% · scratches 2%" (pages
 * leave them out; the large view reads them from the sample resource). */
export function topClasses(sample) {
  if (!sample.top_classes?.length) return null;
  return h("ol", { class: "top-classes", "aria-label": "The model's most probable classes over the flag window" },
    sample.top_classes.map((item) => h("li", { class: item.label === sample.given_label ? "is-given" : null },
      h("span", { class: "top-label", title: item.label, userText: item.label }),
      h("span", { class: "top-probability", text: format.percent(item.probability) }))));
}

/** The card's evidence (sparkline and sentence), or the large view's (full curve and
 * legend; the viewer adds the top classes). */
export function evidence(sample, { large = false } = {}) {
  // Null when the audit kept no history (it ran before the history was kept).
  if (!sample.flag_reason || !sample.history?.length) return null;
  return h("figure", { class: `evidence ${large ? "evidence-large" : ""}` },
    confidenceChart(sample, { large }),
    large ? legend() : null,
    h("figcaption", { class: "reason", text: sample.flag_reason }));
}

function legend() {
  return h("p", { class: "chart-legend", "aria-hidden": "true" },
    h("span", { class: "key-curve", text: "confidence in the given label" }),
    h("span", { class: "key-threshold", text: "k" }),
    h("span", { class: "key-window", text: "flag window" }));
}
