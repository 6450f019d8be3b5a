// Taxon pickers: a field that names a taxon of the project's list. Typing two letters or more
// asks the page's suggestions route; the suggestions are a listbox under the field: the arrow
// keys move through them, Enter or a click picks one (its text goes in the field) and Escape
// closes them. The form posts the field's text, which the server reads back into the taxon.
const MIN_CHARS = 2;
const WAIT_MS = 150;

function attach(input) {
  const list = document.getElementById(input.getAttribute("aria-controls"));
  let timer = null;
  let asked = "";
  let active = -1;
  let pending = null;

  const options = () => [...list.querySelectorAll('[role="option"]')];
  function unpick() {
    for (const option of options()) option.setAttribute("aria-selected", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }
  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    unpick();
  }
  function show(found) {
    list.replaceChildren();
    found.forEach((item, n) => {
      const option = document.createElement("li");
      option.id = `${list.id}-${n}`;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.dataset.value = item.value;
      option.textContent = item.value;
      if (item.label) {
        const names = document.createElement("span");
        names.className = "muted";
        names.textContent = ` ${item.label}`;
        option.append(names);
      }
      list.append(option);
    });
    close();
    list.hidden = found.length === 0;
    input.setAttribute("aria-expanded", String(found.length > 0));
  }
  function move(to) {
    const all = options();
    if (!all.length) return;
    active = (to + all.length) % all.length;
    all.forEach((option, n) => option.setAttribute("aria-selected", String(n === active)));
    input.setAttribute("aria-activedescendant", all[active].id);
    all[active].scrollIntoView({ block: "nearest" });
  }
  function pick(option) {
    input.value = option.dataset.value;
    asked = input.value.trim();
    close();
  }
  async function ask() {
    const text = input.value.trim();
    if (text.length < MIN_CHARS) { asked = ""; close(); return; }
    if (text === asked) return;
    asked = text;
    pending?.abort();
    pending = new AbortController();
    try {
      const answer = await fetch(`${input.dataset.suggest}?q=${encodeURIComponent(text)}`, {
        headers: { Accept: "application/json" }, signal: pending.signal,
      });
      if (!answer.ok) { close(); return; }
      const found = await answer.json();
      if (input.value.trim() === text) show(found);
    } catch (error) {
      if (error.name !== "AbortError") close();
    }
  }

  input.addEventListener("input", () => {
    unpick();  // the list shown is for the text before this key
    clearTimeout(timer);
    timer = setTimeout(ask, WAIT_MS);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (list.hidden) { asked = ""; ask(); } else move(active + 1);
    } else if (event.key === "ArrowUp" && !list.hidden) {
      event.preventDefault();
      move(active - 1);
    } else if (event.key === "Enter" && !list.hidden && active >= 0) {
      event.preventDefault();  // picks the suggestion; the next Enter sends the form
      pick(options()[active]);
    } else if (event.key === "Escape" && !list.hidden) {
      event.preventDefault();
      close();
    }
  });
  // A press on a suggestion keeps the focus in the field, so that the click picks it.
  list.addEventListener("mousedown", (event) => event.preventDefault());
  list.addEventListener("click", (event) => {
    const option = event.target instanceof Element && event.target.closest('[role="option"]');
    if (option) pick(option);
  });
  input.addEventListener("blur", close);
}

for (const input of document.querySelectorAll("input[data-suggest]")) attach(input);
