// The large view's image at its original resolution, to judge a fine defect: zoom (wheel,
// + - 0, buttons), pan (drag, or the arrow keys once zoomed) and contrast / brightness
// sliders (a CSS filter on the image; the file is not changed). Transforms go through CSS
// custom properties: the pages' Content-Security-Policy forbids inline styles.

import { h, isolate, setVar } from "./dom.js";

const MAX_ZOOM = 16;
const STEP = 1.5;
const PAN_PX = 60;

export class ZoomStage {
  /** ``adjust`` holds contrast and brightness (percent); the viewer keeps it across samples. */
  constructor(sample, adjust) {
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.adjust = adjust;
    this.image = h("img", {
      class: "stage-image", src: `${sample.image_url}?original=true`, alt: `Sample ${isolate(sample.sample_id)} at its original resolution`,
      draggable: "false",
    });
    this.image.addEventListener("load", () => {
      this.image.classList.toggle("is-tiny", this.image.naturalWidth < this.frame.clientWidth / 2);
      this.readout.textContent = this.describe();
    }, { once: true });
    this.frame = h("div", {
      class: "stage", "data-zoom": "1", tabindex: 0, title: "Wheel or + − to zoom, drag to pan, 0 to fit",
      "aria-label": "The image: + and − zoom, 0 fits it, the arrow keys pan once zoomed in",
    }, this.image);
    this.readout = h("span", { class: "zoom-readout", "aria-live": "polite", text: "fit" });
    this.element = h("div", { class: "stage-box" }, this.frame, this.controls());
    this.wire();
    this.apply();
  }

  controls() {
    const button = (text, label, onclick) => h("button", { type: "button", class: "button ghost small", "aria-label": label, onclick }, text);
    const slider = (name, label, min, max) => h("label", { class: "adjust" }, h("span", { text: label }),
      h("input", {
        type: "range", min, max, step: 5, value: this.adjust[name], "data-adjust": name,
        oninput: (event) => {
          this.adjust[name] = Number(event.target.value);
          this.apply();
        },
      }));
    return h("div", { class: "stage-controls" },
      h("div", { class: "zoom-buttons" },
        button("−", "Zoom out (−)", () => this.zoomBy(1 / STEP)),
        this.readout,
        button("+", "Zoom in (+)", () => this.zoomBy(STEP)),
        button("Fit", "Fit the image (0)", () => this.reset())),
      slider("contrast", "Contrast", 50, 300),
      slider("brightness", "Brightness", 50, 200));
  }

  wire() {
    this.frame.addEventListener("wheel", (event) => {
      event.preventDefault();
      const box = this.frame.getBoundingClientRect();
      const around = { x: event.clientX - box.left - box.width / 2, y: event.clientY - box.top - box.height / 2 };
      this.zoomBy(event.deltaY < 0 ? STEP : 1 / STEP, around);
    }, { passive: false });
    let drag = null;
    this.frame.addEventListener("pointerdown", (event) => {
      if (this.zoom === 1) return;
      drag = { x: event.clientX - this.panX, y: event.clientY - this.panY };
      this.frame.setPointerCapture(event.pointerId);
      this.frame.classList.add("is-dragging");
    });
    this.frame.addEventListener("pointermove", (event) => {
      if (!drag) return;
      this.panTo(event.clientX - drag.x, event.clientY - drag.y);
    });
    const stop = () => {
      drag = null;
      this.frame.classList.remove("is-dragging");
    };
    this.frame.addEventListener("pointerup", stop);
    this.frame.addEventListener("pointercancel", stop);
  }

  /** Zoom by ``factor``, keeping the point ``around`` (px from the centre) in place. */
  zoomBy(factor, around = { x: 0, y: 0 }) {
    const zoom = Math.min(MAX_ZOOM, Math.max(1, this.zoom * factor));
    const ratio = zoom / this.zoom;
    this.zoom = zoom;
    this.panTo(around.x - (around.x - this.panX) * ratio, around.y - (around.y - this.panY) * ratio);
  }

  reset() {
    this.zoom = 1;
    this.panTo(0, 0);
  }

  /** Pan, keeping some of the image in the frame. */
  panTo(x, y) {
    const limitX = ((this.zoom - 1) * this.frame.clientWidth) / 2;
    const limitY = ((this.zoom - 1) * this.frame.clientHeight) / 2;
    this.panX = Math.max(-limitX, Math.min(limitX, x));
    this.panY = Math.max(-limitY, Math.min(limitY, y));
    this.apply();
  }

  /** Handle a zoom or pan key; true when it was one. Arrows pan only once zoomed in, so
   * that they still move to the previous / next sample otherwise. */
  handleKey(key) {
    if (key === "+" || key === "=") this.zoomBy(STEP);
    else if (key === "-" || key === "_") this.zoomBy(1 / STEP);
    else if (key === "0") this.reset();
    else if (this.zoom > 1 && key.startsWith("Arrow")) {
      const [dx, dy] = { ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] }[key];
      this.panTo(this.panX + dx * PAN_PX, this.panY + dy * PAN_PX);
    } else return false;
    return true;
  }

  describe() {
    if (this.zoom === 1) return "fit";
    return `×${Number(this.zoom.toFixed(2))}`;
  }

  apply() {
    setVar(this.frame, "--zoom", this.zoom);
    setVar(this.frame, "--pan-x", `${this.panX}px`);
    setVar(this.frame, "--pan-y", `${this.panY}px`);
    setVar(this.frame, "--contrast", `${this.adjust.contrast}%`);
    setVar(this.frame, "--brightness", `${this.adjust.brightness}%`);
    this.frame.dataset.zoom = String(Number(this.zoom.toFixed(3)));
    this.frame.classList.toggle("is-zoomed", this.zoom > 1);
    this.readout.textContent = this.describe();
  }
}
