// Inline SVG charts for the overview, readable without hovering: every bar carries its
// number, axes are titled, and colours come from classes in charts.css.

import { format, h, isolate, named, setVar, svg } from "./dom.js";
import { vocabulary } from "./vocabulary.js";

export const CHAR_WIDTH = 7; // about one character of the 12px chart font, for label room
export const WIDTH = 520; // the viewBox width; the SVG scales to its panel

/** Round axis ticks from 0 to at least ``max``: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(max, count = 5) {
  if (max <= 0) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const ticks = [];
  for (let value = 0; value < max + step; value += step) ticks.push(value);
  return ticks.length > 1 ? ticks : [0, step];
}

export function chart(height, label, ...children) {
  return svg("svg", {
    viewBox: `0 0 ${WIDTH} ${height}`, class: "chart-svg", role: "img", "aria-label": label,
  }, ...children);
}

export function text(x, y, content, className = "", anchor = "start") {
  return svg("text", { x, y, class: className, "text-anchor": anchor }, String(content));
}

export function empty(container, message) {
  container.replaceChildren(h("p", { class: "chart-empty", text: message }));
}

/** Horizontal bars, one per entry ({label, value}), largest first; with ``link(entry)``
 * each bar is a link there. */
export function barChart(container, entries, { axisTitle, label, link }) {
  if (!entries.some((entry) => entry.value > 0)) {
    empty(container, "No label errors are estimated.");
    return;
  }
  const sorted = [...entries].sort((a, b) => b.value - a.value);
  const left = Math.min(160, 16 + CHAR_WIDTH * Math.max(...sorted.map((e) => e.label.length)));
  const right = WIDTH - 40;
  // Few classes get taller bars, so that the panel beside the heat map is not half empty.
  const rowHeight = Math.max(28, Math.min(48, 240 / sorted.length));
  const top = 8;
  const height = top + rowHeight * sorted.length + 44;
  const ticks = niceTicks(Math.max(...sorted.map((e) => e.value)));
  const scale = (value) => left + ((right - left) * value) / ticks.at(-1);
  const axisY = top + rowHeight * sorted.length;
  const grid = ticks.map((tick) => [
    svg("line", { x1: scale(tick), x2: scale(tick), y1: top, y2: axisY, class: "grid" }),
    text(scale(tick), axisY + 16, format.count(tick), "tick", "middle"),
  ]);
  const bars = sorted.map((entry, i) => {
    const y = top + i * rowHeight;
    const linked = link && entry.value > 0;
    return svg(linked ? "a" : "g", linked ? { href: link(entry), class: "bar-link", "aria-label": `${isolate(entry.label)} ${format.count(entry.value)}: review these flagged samples` } : {},
      svg("title", {}, `${isolate(entry.label)}: ${entry.value}`),
      text(left - 8, y + rowHeight / 2 + 4, named(entry.label, Math.floor((left - 16) / CHAR_WIDTH)), "axis-label", "end"),
      svg("rect", {
        x: left, y: y + rowHeight * 0.2, width: Math.max(scale(entry.value) - left, 1),
        height: rowHeight * 0.6, rx: 3, class: "bar-errors",
      }),
      text(scale(entry.value) + 6, y + rowHeight / 2 + 4, format.count(entry.value), "value"));
  });
  container.replaceChildren(chart(height, label,
    grid, bars,
    svg("line", { x1: left, x2: left, y1: top, y2: axisY, class: "axis" }),
    text((left + right) / 2, height - 6, axisTitle, "axis-title", "middle")));
}

/** "k 0.5", or "k per class 0.21–0.5" when the classes were flagged with different ones. */
export function describeThresholds(thresholds) {
  if (!thresholds.length) return "";
  const low = Math.min(...thresholds);
  const high = Math.max(...thresholds);
  const round = (value) => Number(value.toFixed(2));
  return low === high ? `k ${round(low)}` : `k per class ${round(low)}–${round(high)}`;
}

/** Bins over [0, 1] ({lower, upper, flagged, unflagged}) stacked, with the range of the
 * per-class thresholds k marked. */
export function histogram(container, bins, thresholds) {
  const margin = { left: 52, right: 16, top: 34, bottom: 44 };
  const height = 280;
  const plotBottom = height - margin.bottom;
  const ticks = niceTicks(Math.max(...bins.map((b) => b.flagged + b.unflagged)), 4);
  const x = (value) => margin.left + (WIDTH - margin.left - margin.right) * value;
  const y = (count) => plotBottom - ((plotBottom - margin.top) * count) / ticks.at(-1);
  const yAxis = ticks.map((tick) => [
    svg("line", { x1: margin.left, x2: WIDTH - margin.right, y1: y(tick), y2: y(tick), class: "grid" }),
    text(margin.left - 8, y(tick) + 4, format.count(tick), "tick", "end"),
  ]);
  const xAxis = [0, 0.2, 0.4, 0.6, 0.8, 1].map((tick) => text(x(tick), plotBottom + 16, tick.toFixed(1), "tick", "middle"));
  const bars = bins.map((bin) => {
    const total = bin.flagged + bin.unflagged;
    const left = x(bin.lower) + 1;
    const width = x(bin.upper) - x(bin.lower) - 2;
    return svg("g", {},
      svg("title", {}, `${bin.lower.toFixed(2)}–${bin.upper.toFixed(2)}: ${bin.flagged} flagged, ${bin.unflagged} not flagged`),
      svg("rect", { x: left, y: y(bin.unflagged), width, height: plotBottom - y(bin.unflagged), class: "bar-unflagged" }),
      svg("rect", { x: left, y: y(total), width, height: y(bin.unflagged) - y(total), class: "bar-flagged" }),
      total > 0 ? text(left + width / 2, y(total) - 4, total, "value small", "middle") : null);
  });
  const marks = thresholds.length ? [Math.min(...thresholds), Math.max(...thresholds)] : [];
  const description = describeThresholds(thresholds);
  container.replaceChildren(chart(height, `Histogram of the confidence in the given label; ${description}`,
    yAxis, xAxis, bars,
    svg("line", { x1: margin.left, x2: WIDTH - margin.right, y1: plotBottom, y2: plotBottom, class: "axis" }),
    [...new Set(marks)].map((value) => svg("line", { x1: x(value), x2: x(value), y1: margin.top - 6, y2: plotBottom, class: "threshold" })),
    marks.length ? text(x(marks[1]) + 5, margin.top - 2, description, "threshold-label") : null,
    legend([["bar-flagged", "flagged"], ["bar-unflagged", "not flagged"]], WIDTH - margin.right - 190, 14),
    text((margin.left + WIDTH - margin.right) / 2, height - 6, "confidence in the given label", "axis-title", "middle"),
    svg("text", { x: 14, y: (margin.top + plotBottom) / 2, class: "axis-title", "text-anchor": "middle",
      transform: `rotate(-90 14 ${(margin.top + plotBottom) / 2})` }, "samples")));
}

/** A row of colour keys: [[className, text], ...] from (x, y). */
export function legend(entries, x, y) {
  let offset = x;
  return entries.map(([className, label]) => {
    const item = svg("g", {},
      svg("rect", { x: offset, y: y - 9, width: 10, height: 10, rx: 2, class: className }),
      text(offset + 14, y, label, "legend-label"));
    offset += 24 + CHAR_WIDTH * label.length;
    return item;
  });
}

const DECISIONS = [
  ...Object.entries(vocabulary.decisions).map(([action, words]) => [action, words.text]),
  ["pending", "Pending"],
];

/** One bar split by decision (each of the vocabulary's, and pending), with a legend. */
export function reviewProgress(container, counts) {
  const total = DECISIONS.reduce((sum, [key]) => sum + (counts[key] ?? 0), 0);
  if (total === 0) {
    // Not "nothing to review": the samples worth a look are still offered (worth.js).
    empty(container, "Nothing was flagged, so no decisions on flagged samples to count.");
    return;
  }
  const decided = total - (counts.pending ?? 0);
  const segments = DECISIONS.filter(([key]) => counts[key]).map(([key, label]) => {
    const segment = h("span", { class: `segment decision-${key}`, title: `${label}: ${counts[key]}` });
    setVar(segment, "--share", counts[key]);
    return segment;
  });
  container.replaceChildren(
    h("p", { class: "review-total" },
      h("strong", { text: `${format.count(decided)} of ${format.count(total)}` }),
      ` flagged samples decided (${format.percent(decided / total)})`),
    h("div", { class: "stacked", role: "img", "aria-label": `${decided} of ${total} flagged samples decided` }, segments),
    h("ul", { class: "decision-legend" }, DECISIONS.map(([key, label]) => h("li", {},
      h("span", { class: `swatch decision-${key}` }),
      h("span", { class: "legend-name", text: label }),
      h("strong", { text: format.count(counts[key] ?? 0) }),
      h("span", { class: "muted", text: format.percent((counts[key] ?? 0) / total) })))));
}
