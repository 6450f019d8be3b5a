// The viewer: toggles, opacity, keyboard shortcuts, picking the detection to review, and drawing
// a box the models missed. Boxes and layers are drawn by the server as SVG in the photo's own
// pixel coordinates.
const overlay = document.getElementById("overlay");
const boxesToggle = document.getElementById("toggle-boxes");

function setBoxes(on) {
  overlay.classList.toggle("boxes-off", !on);
  boxesToggle.checked = on;
}
boxesToggle.addEventListener("change", () => setBoxes(boxesToggle.checked));

for (const toggle of document.querySelectorAll(".toggle-model")) {
  toggle.addEventListener("change", () => {
    for (const g of overlay.querySelectorAll(".det, .layer")) {
      if (g.dataset.model === toggle.value) g.classList.toggle("model-off", !toggle.checked);
    }
  });
}

// Detections scored under their run's threshold are hidden until asked for.
const belowToggle = document.getElementById("toggle-below");
function showBelow(on) {
  overlay.classList.toggle("show-below", on);
  document.querySelector(".annotations")?.classList.toggle("show-below", on);
  if (belowToggle) belowToggle.checked = on;
}
belowToggle?.addEventListener("change", () => showBelow(belowToggle.checked));

// Older runs' boxes (a re-run or a newer version replaced them) are drawn only when asked for.
const olderToggle = document.getElementById("toggle-older");
olderToggle?.addEventListener("change", () => {
  overlay.classList.toggle("show-older", olderToggle.checked);
});

for (const toggle of document.querySelectorAll(".toggle-kind")) {
  toggle.addEventListener("change", () => {
    for (const g of overlay.querySelectorAll(`.layer[data-kind="${toggle.value}"]`)) {
      g.classList.toggle("kind-off", !toggle.checked);
    }
  });
}

// A photo whose EXIF orientation is stored as another type than a short (a long, a rational):
// the server and the workers turn it upright, browsers show it as stored. Its quarter turn shows
// as its sides swapped against its upright size; its large thumbnail, whose orientation the
// server wrote as a short, is shown in its place, upright under the boxes.
const photo = document.getElementById("photo");
function showUpright() {
  if (!photo.naturalWidth || photo.dataset.shown) return;
  const wide = Number(photo.getAttribute("width")) > Number(photo.getAttribute("height"));
  const square = photo.getAttribute("width") === photo.getAttribute("height") ||
    photo.naturalWidth === photo.naturalHeight;
  if (!square && (photo.naturalWidth > photo.naturalHeight) !== wide) {
    photo.dataset.shown = "upright";
    photo.src = photo.dataset.upright;
  } else {
    photo.dataset.shown = "as-stored";
  }
}
if (photo.complete) showUpright();
else photo.addEventListener("load", showUpright);

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
const boxOf = (id) => overlay.querySelector(`.det[data-id="${id}"]`);
const list = document.querySelector(".annotations");
if (list) {
  for (const [type, on] of [["mouseover", true], ["mouseout", false], ["focusin", true], ["focusout", false]]) {
    list.addEventListener(type, (event) => {
      const item = event.target.closest(".annotation");
      if (item) boxOf(item.dataset.id)?.classList.toggle("highlight", on);
    });
  }
}

// The review panel acts on one detection: the one the address names (#a<id>), else the first.
// A click on its row in the list (or Enter on the row's link) or on its box picks another; the
// address follows without a jump, and the list scrolls in its own box below the panel, so the
// panel and the picked row stay in sight together.
const panel = document.getElementById("review-form");
let picked = null;
function named() {
  const item = location.hash.startsWith("#a") && document.getElementById(location.hash.slice(1));
  return item && item.classList.contains("annotation") ? item : null;
}
function pick(item) {
  item = item || named() || document.querySelector(".annotation:not(.below)")
    || document.querySelector(".annotation");
  if (!item) return null;
  if (item.classList.contains("below")) showBelow(true);  // asked for by name: show it
  if (picked) {
    picked.classList.remove("picked");
    picked.querySelector("a.pick")?.removeAttribute("aria-current");
    boxOf(picked.dataset.id)?.classList.remove("picked");
  }
  picked = item;
  item.classList.add("picked");
  item.querySelector("a.pick")?.setAttribute("aria-current", "true");
  boxOf(item.dataset.id)?.classList.add("picked");
  if (panel) {
    document.getElementById("r-annotation").value = item.dataset.id;
    document.getElementById("r-label").textContent = item.dataset.caption;
  }
  return item;
}
function reveal(item) {
  // Scroll the list only: scrolling the page would push the panel above it out of sight.
  if (!item || !list) return;
  const top = item.offsetTop;
  const bottom = top + item.offsetHeight;
  if (top < list.scrollTop) list.scrollTop = top;
  else if (bottom > list.scrollTop + list.clientHeight) list.scrollTop = bottom - list.clientHeight;
}
function choose(id) {
  const item = document.getElementById(`a${id}`);
  if (!item) return;
  history.replaceState(null, "", `#a${id}`);
  reveal(pick(item));
}
window.addEventListener("hashchange", () => reveal(pick()));
list?.addEventListener("click", (event) => {
  const item = event.target instanceof Element && event.target.closest(".annotation");
  if (!item) return;
  event.preventDefault();  // the row's link would scroll the page to the row
  choose(item.dataset.id);
});
reveal(pick());
// Opened at a detection (the queue, or after a review): the browser scrolled the page to its
// row. Scroll as little as shows the picked box on the photo and the review panel together (a
// keyboard review goes on from them), or the box alone when both do not fit in the window.
function keepInSight() {
  const box = picked && boxOf(picked.dataset.id)?.querySelector("rect");
  const shown = [box, panel || list].filter(Boolean).map((e) => e.getBoundingClientRect());
  if (!shown.length) return;
  const margin = 8;
  let top = Math.min(...shown.map((r) => r.top)) - margin;
  let bottom = Math.max(...shown.map((r) => r.bottom)) + margin;
  if (bottom - top > innerHeight && box) [top, bottom] = [shown[0].top - margin, shown[0].bottom + margin];
  if (top < 0) window.scrollBy(0, top);
  else if (bottom > innerHeight) window.scrollBy(0, Math.min(bottom - innerHeight, top));
}
if (named()) window.addEventListener("load", keepInSight);
function pickBox(target) {
  const box = target instanceof Element && target.closest(".det[data-id]");
  if (box) choose(box.dataset.id);
}
// Enter in the label field relabels (the form's first button, which Enter would press, confirms).
document.getElementById("r-relabel")?.addEventListener("keydown", (event) => {
  if (event.key !== "Enter") return;
  event.preventDefault();
  panel.querySelector('button[value="relabel"]').click();
});

// A click on a box picks it. Where boxes can be drawn, a drag on the photo gives a new box in the
// stored image's pixels, and a press and release without a drag picks the box under it.
const form = document.getElementById("missing-form");
if (!form) overlay.addEventListener("click", (event) => pickBox(event.target));
else {
  const drawing = document.getElementById("drawing");
  const save = document.getElementById("m-save");
  overlay.classList.add("drawing-mode");
  const width = Number(overlay.dataset.width);
  const height = Number(overlay.dataset.height);
  let start = null;
  let pressed = null;
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
    pressed = event.target;  // before the capture makes the overlay every event's target
    overlay.setPointerCapture(event.pointerId);
  });
  overlay.addEventListener("pointermove", (event) => { if (start) show(start, point(event)); });
  overlay.addEventListener("pointerup", (event) => {
    if (!start) return;
    const [x1, y1, x2, y2] = show(start, point(event));
    start = null;
    if (x2 - x1 < 2 || y2 - y1 < 2) {
      drawing.hidden = true; save.disabled = true; pickBox(pressed); return;
    }
    for (const [id, v] of [["m-x1", x1], ["m-y1", y1], ["m-x2", x2], ["m-y2", y2]]) {
      document.getElementById(id).value = v.toFixed(1);
    }
    save.disabled = false;
    document.getElementById("m-label").focus();
  });
}

// The review queue: c confirms the picked detection and moves on, n skips to the next
// detection nobody has reviewed.
const queueHint = document.getElementById("queue-hint");
if (queueHint) {
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (target instanceof HTMLInputElement || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "c" && picked) panel?.querySelector('button[value="confirm"]')?.click();
    else if (event.key === "n") {
      const next = new URL(queueHint.dataset.next, location.origin);
      if (picked) next.searchParams.set("after", picked.dataset.id);
      location.assign(next);
    }
  });
}
