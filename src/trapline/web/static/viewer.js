// The viewer: toggles, opacity, keyboard shortcuts, and drawing a box the models missed.
// The boxes themselves are drawn by the server as SVG in the photo's own pixel coordinates.
const overlay = document.getElementById("overlay");
const boxesToggle = document.getElementById("toggle-boxes");

function setBoxes(on) {
  overlay.classList.toggle("boxes-off", !on);
  boxesToggle.checked = on;
}
boxesToggle.addEventListener("change", () => setBoxes(boxesToggle.checked));

for (const toggle of document.querySelectorAll(".toggle-model")) {
  toggle.addEventListener("change", () => {
    for (const g of overlay.querySelectorAll(".det")) {
      if (g.dataset.model === toggle.value) g.classList.toggle("model-off", !toggle.checked);
    }
  });
}

const opacity = document.getElementById("opacity");
opacity.addEventListener("input", () => { overlay.style.opacity = String(opacity.value / 100); });

document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement ||
      target instanceof HTMLSelectElement || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.key === "ArrowLeft") document.getElementById("prev-link")?.click();
  else if (event.key === "ArrowRight") document.getElementById("next-link")?.click();
  else if (event.key === "b") setBoxes(!boxesToggle.checked);
});

// Highlight a box while its entry in the list has the pointer or focus.
for (const item of document.querySelectorAll(".annotation")) {
  const box = overlay.querySelector(`.det[data-id="${item.dataset.id}"]`);
  if (!box) continue;
  const on = () => box.classList.add("highlight");
  const off = () => box.classList.remove("highlight");
  item.addEventListener("mouseenter", on);
  item.addEventListener("mouseleave", off);
  item.addEventListener("focusin", on);
  item.addEventListener("focusout", off);
}

// Drawing: a drag on the photo gives the box, in the stored image's pixels.
const form = document.getElementById("missing-form");
if (form) {
  const drawing = document.getElementById("drawing");
  const save = document.getElementById("m-save");
  overlay.classList.add("drawing-mode");
  const width = Number(overlay.dataset.width);
  const height = Number(overlay.dataset.height);
  let start = null;
  const point = (event) => {
    const r = overlay.getBoundingClientRect();
    const x = Math.min(Math.max(((event.clientX - r.left) / r.width) * width, 0), width);
    const y = Math.min(Math.max(((event.clientY - r.top) / r.height) * height, 0), height);
    return [x, y];
  };
  const show = (a, b) => {
    const [x1, x2] = [Math.min(a[0], b[0]), Math.max(a[0], b[0])];
    const [y1, y2] = [Math.min(a[1], b[1]), Math.max(a[1], b[1])];
    drawing.setAttribute("x", x1); drawing.setAttribute("y", y1);
    drawing.setAttribute("width", x2 - x1); drawing.setAttribute("height", y2 - y1);
    drawing.hidden = false;
    return [x1, y1, x2, y2];
  };
  overlay.addEventListener("pointerdown", (event) => {
    start = point(event);
    overlay.setPointerCapture(event.pointerId);
  });
  overlay.addEventListener("pointermove", (event) => { if (start) show(start, point(event)); });
  overlay.addEventListener("pointerup", (event) => {
    if (!start) return;
    const [x1, y1, x2, y2] = show(start, point(event));
    start = null;
    if (x2 - x1 < 2 || y2 - y1 < 2) { drawing.hidden = true; save.disabled = true; return; }
    for (const [id, v] of [["m-x1", x1], ["m-y1", y1], ["m-x2", x2], ["m-y2", y2]]) {
      document.getElementById(id).value = v.toFixed(1);
    }
    save.disabled = false;
    document.getElementById("m-label").focus();
  });
}

// The review queue: c confirms the detection named in the address (#a<id>) and moves on,
// n skips to the next detection nobody has reviewed.
const queueHint = document.getElementById("queue-hint");
if (queueHint) {
  const current = () => document.querySelector(location.hash && location.hash.startsWith("#a") ? location.hash : ".annotation");
  const mark = () => {
    const item = current();
    if (!item) return;
    item.scrollIntoView({ block: "nearest" });
    overlay.querySelector(`.det[data-id="${item.dataset.id}"]`)?.classList.add("highlight");
  };
  mark();
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (target instanceof HTMLInputElement || event.altKey || event.ctrlKey || event.metaKey) return;
    const item = current();
    if (event.key === "c" && item) item.querySelector('button[value$=":confirm"]')?.click();
    else if (event.key === "n") {
      const next = new URL(queueHint.dataset.next, location.origin);
      if (item) next.searchParams.set("after", item.dataset.id);
      location.assign(next);
    }
  });
}
