// The given -> suggested confusion of the flagged samples as a heat map with the count in
// every cell: which classes the labelers mix up, at a glance.

import { CHAR_WIDTH, WIDTH, chart, empty, text } from "./charts.js";
import { isolate, named, svg } from "./dom.js";

const MAX_CLASSES = 12; // beyond this the cells get too small to read; show the busiest

/** The classes that take part in the most confusions, in their original order. */
function busiestClasses(classes, cells) {
  if (classes.length <= MAX_CLASSES) return classes;
  const involvement = new Map(classes.map((name) => [name, 0]));
  for (const cell of cells) {
    involvement.set(cell.given, involvement.get(cell.given) + cell.count);
    involvement.set(cell.suggested, involvement.get(cell.suggested) + cell.count);
  }
  const kept = new Set([...classes].sort((a, b) => involvement.get(b) - involvement.get(a)).slice(0, MAX_CLASSES));
  return classes.filter((name) => kept.has(name));
}

/** Blend from the palest to the deepest indigo by ``t`` in [0, 1]. */
function heat(t) {
  const pale = [238, 242, 255];
  const deep = [55, 48, 163];
  const mix = pale.map((value, i) => Math.round(value + (deep[i] - value) * t));
  return `rgb(${mix.join(",")})`;
}

/** ``link(given, suggested)``: where a cell leads (the queue filtered to that pair). */
export function heatmap(container, allClasses, cells, link) {
  if (cells.length === 0) {
    empty(container, "No flagged sample has a different suggested label.");
    return;
  }
  const classes = busiestClasses(allClasses, cells);
  const counts = new Map(cells.map((cell) => [`${cell.given}\u0000${cell.suggested}`, cell.count]));
  const max = Math.max(...cells.map((cell) => cell.count));
  const labelRoom = Math.min(140, 12 + CHAR_WIDTH * Math.max(...classes.map((name) => name.length)));
  // A longer name is cut to the room (its cells' titles carry all of it).
  const shown = (name) => named(name, Math.floor((labelRoom - 12) / CHAR_WIDTH));
  const size = Math.min(56, (WIDTH - 36 - labelRoom) / classes.length);
  // Centred: the axis title, the row labels and the grid, with the slack split both sides.
  const left = 28 + labelRoom + Math.max(0, (WIDTH - 36 - labelRoom - size * classes.length) / 2);
  // Column labels slant at 40 degrees: they rise by about 0.65 of their length.
  const top = 34 + 0.65 * labelRoom;
  const height = top + size * classes.length + 12;
  const parts = [
    text(left + (size * classes.length) / 2, 14, "suggested label →", "axis-title", "middle"),
    svg("text", {
      x: left - labelRoom - 14, y: top + (size * classes.length) / 2, class: "axis-title", "text-anchor": "middle",
      transform: `rotate(-90 ${left - labelRoom - 14} ${top + (size * classes.length) / 2})`,
    }, "given label →"),
  ];
  classes.forEach((name, column) => {
    const x = left + column * size + size / 2;
    parts.push(svg("text", {
      x, y: top - 8, class: "axis-label", "text-anchor": "start",
      transform: `rotate(-40 ${x} ${top - 8})`,
    }, shown(name)));
  });
  classes.forEach((given, row) => {
    const y = top + row * size;
    parts.push(text(left - 8, y + size / 2 + 4, shown(given), "axis-label", "end"));
    classes.forEach((suggested, column) => {
      const x = left + column * size;
      const count = counts.get(`${given}\u0000${suggested}`) ?? 0;
      const diagonal = given === suggested;
      const t = count / max;
      const linked = !diagonal && count > 0;
      const props = linked
        ? { href: link(given, suggested), class: "cell-link", "aria-label": `${count} flagged ${isolate(given)} → ${isolate(suggested)}: review them` }
        : {};
      parts.push(svg(linked ? "a" : "g", props,
        svg("title", {}, diagonal ? `${isolate(given)}: same label` : `${count} flagged ${isolate(given)} → ${isolate(suggested)}`),
        svg("rect", {
          x: x + 1, y: y + 1, width: size - 2, height: size - 2, rx: 3,
          class: diagonal ? "cell-diagonal" : "cell", fill: diagonal ? null : heat(count ? 0.15 + 0.85 * t : 0),
        }),
        text(x + size / 2, y + size / 2 + 4, diagonal ? "–" : count,
          `cell-value${t > 0.55 ? " on-dark" : ""}${count === 0 ? " zero" : ""}`, "middle")));
    });
  });
  const hidden = allClasses.length - classes.length;
  const label = `Confusion of the flagged samples between ${classes.length} classes` +
    (hidden ? ` (the ${MAX_CLASSES} most confused of ${allClasses.length})` : "");
  container.replaceChildren(chart(height, label, parts));
}
