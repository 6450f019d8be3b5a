// Ticking many occurrences for a bulk form (templates/_bulk_identify.html). The boxes name the
// form in their form attribute; without this script they work one by one and "Tick all on this
// page" reloads the page with every box ticked. With it: a shift-click ticks (or unticks) the
// range from the box clicked last, "Tick all" ticks without a reload, and the count follows.

function attach(link) {
  const formId = link.dataset.tickAll;
  const form = document.getElementById(formId);
  const boxes = () => [...document.querySelectorAll(`input.tick[form="${formId}"]`)];
  const count = document.querySelector(`[data-ticked-count="${formId}"]`);
  let last = null;

  function update() {
    const all = boxes();
    const ticked = all.filter((box) => box.checked).length;
    if (count) count.textContent = ticked ? `${ticked} ticked` : "";
    const every = all.length > 0 && ticked === all.length;
    link.textContent = every ? link.dataset.untickText : link.dataset.tickText;
    link.setAttribute("aria-pressed", every ? "true" : "false");
  }

  link.setAttribute("role", "button");
  link.addEventListener("click", (event) => {
    event.preventDefault();
    const all = boxes();
    const every = all.every((box) => box.checked);
    for (const box of all) box.checked = !every;
    last = null;
    update();
  });
  // Clicks on the boxes, wherever they are on the page: the form is their owner, not their
  // parent, so the listener is on the document.
  document.addEventListener("click", (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || box.form !== form || !box.classList.contains("tick")) {
      return;
    }
    if (event.shiftKey && last && last !== box) {
      const all = boxes();
      const [from, to] = [all.indexOf(last), all.indexOf(box)].sort((a, b) => a - b);
      if (from >= 0) for (const other of all.slice(from, to + 1)) other.checked = box.checked;
    }
    last = box;
    update();
  });
  for (const hint of form.querySelectorAll("[data-with-script]")) hint.hidden = false;
  update();
}

for (const link of document.querySelectorAll("a[data-tick-all]")) attach(link);
