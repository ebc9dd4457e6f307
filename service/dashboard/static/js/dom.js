// Small helpers every screen uses: building elements, formatting numbers and times, toasts.
// The pages' Content-Security-Policy forbids inline styles, so nothing here writes a style
// attribute: looks come from classes, sizes from CSS custom properties set through CSSOM.

const SVG_NS = "http://www.w3.org/2000/svg";

// Bidirectional controls in text from users (class names, sample ids, file names) would
// reorder what follows them: "bolt\u202E" turns "at most 98%" into "%89 tsom ta". Such text
// is shown isolated, with its own controls balanced so that none reaches past it; the
// controls stay (right-to-left class names may need them).
const EMBEDDINGS = "\u202A\u202B\u202D\u202E"; // LRE RLE LRO RLO, closed by PDF
const ISOLATES = "\u2066\u2067\u2068"; // LRI RLI FSI, closed by PDI
const PDF = "\u202C";
const PDI = "\u2069";

/** ``text`` with every bidirectional control closed inside it and stray closers dropped. */
export function balanced(text) {
  const open = [];
  let out = "";
  for (const char of String(text)) {
    if (EMBEDDINGS.includes(char) || ISOLATES.includes(char)) {
      open.push(char);
    } else if (char === PDF) {
      // A PDF closes an embedding opened after the last open isolate, or nothing.
      if (!open.length || !EMBEDDINGS.includes(open.at(-1))) continue;
      open.pop();
    } else if (char === PDI) {
      // A PDI closes the last open isolate and every embedding inside it, or nothing.
      const last = open.findLastIndex((opener) => ISOLATES.includes(opener));
      if (last < 0) continue;
      open.length = last;
    }
    out += char;
  }
  return out + open.reverse().map((opener) => (ISOLATES.includes(opener) ? PDI : PDF)).join("");
}

/** An identifier (a sample id, a file name) with its bidirectional controls shown as code
 * points: "evil\u202Egnp.exe" would otherwise read "evilexe.png". */
export function revealed(text) {
  return String(text).replace(/[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g,
    (char) => `⟨U+${char.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}⟩`);
}

// Right-to-left letters (Hebrew, Arabic, Syriac, Thaana, N'Ko … and their presentation
// forms) or bidirectional controls: only text holding one can reorder what surrounds it.
const BIDI_SENSITIVE = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF\u{10800}-\u{10FFF}\u{1E800}-\u{1EFFF}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

/** Text from users inside a sentence or an attribute: first-strong isolated (FSI … PDI)
 * when it holds anything right-to-left, else as it is. */
export function isolate(text) {
  const value = String(text);
  return BIDI_SENSITIVE.test(value) ? `\u2068${balanced(value)}${PDI}` : value;
}

/** A class name inside a sentence: isolated, and cut short (with "…") past ``limit``
 * characters; the labels that show it alone carry all of it in their title. */
export function named(text, limit = 60) {
  const chars = [...String(text)];
  return isolate(chars.length > limit ? `${chars.slice(0, limit - 1).join("")}…` : text);
}

function assign(element, props) {
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") element.textContent = value;
    // An element showing only text from users: balanced, and isolated by dir=auto.
    else if (name === "userText") {
      element.textContent = balanced(value);
      element.setAttribute("dir", "auto");
    }
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  return element;
}

/** An HTML element: h("a", {href: "/", class: "x"}, "text", child). */
export function h(tag, props = {}, ...children) {
  const element = assign(document.createElement(tag), props);
  element.append(...children.flat(Infinity).filter((child) => child !== null && child !== undefined));
  return element;
}

/** An SVG element, attributes as given (SVG presentation attributes are not inline CSS). */
export function svg(tag, props = {}, ...children) {
  const element = assign(document.createElementNS(SVG_NS, tag), props);
  element.append(...children.flat(Infinity).filter((child) => child !== null && child !== undefined));
  return element;
}

/** Set a CSS custom property (CSSOM, which the CSP allows, unlike style attributes). */
export function setVar(element, name, value) {
  element.style.setProperty(name, String(value));
}

export const byId = (id) => document.getElementById(id);

export const format = {
  count(value) {
    return new Intl.NumberFormat().format(value ?? 0);
  },
  /** "1 sample", "12 samples". */
  plural(value, noun) {
    return `${format.count(value)} ${noun}${value === 1 ? "" : "s"}`;
  },
  percent(value, digits = 0) {
    return `${(100 * (value ?? 0)).toFixed(digits)}%`;
  },
  decimal(value, digits = 2) {
    return Number(value).toFixed(digits);
  },
  date(iso) {
    return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  },
  ago(iso) {
    const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
    if (seconds < 60) return "just now";
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
    return format.date(iso);
  },
  duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
    return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
  },
  bytes(value) {
    const units = ["B", "KB", "MB", "GB"];
    let size = value;
    let unit = 0;
    while (size >= 1000 && unit < units.length - 1) {
      size /= 1000;
      unit += 1;
    }
    return `${size.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
  },
};

const TOAST_MS = 6000;

/** A message in the corner, read out by screen readers; kind: info, success, warning, error. */
export function toast(message, kind = "info") {
  const item = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : null },
    h("span", { text: message }),
    h("button", {
      type: "button", class: "toast-close", "aria-label": "Dismiss", text: "×",
      onclick: () => item.remove(),
    }));
  byId("toasts").append(item);
  setTimeout(() => item.remove(), TOAST_MS);
}

/**
 * Run ``task`` now and then every ``delayFor()`` ms (null: stop). Returns ``wake()``, which
 * runs it at once, e.g. when the page knows something changed sooner than the next turn.
 */
export function poll(task, delayFor) {
  let timer = null;
  let failing = false;
  let busy = false;
  let again = false; // woken while busy: run once more right after
  const run = async () => {
    clearTimeout(timer);
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      await task();
      failing = false;
    } catch (error) {
      // One message per outage, not one per attempt.
      if (!failing) toast(`Could not refresh: ${error.message}`, "error");
      failing = true;
    }
    busy = false;
    if (again) {
      again = false;
      run();
      return;
    }
    const delay = delayFor();
    if (delay !== null) timer = setTimeout(run, delay);
  };
  run();
  return run;
}
