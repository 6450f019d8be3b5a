// Live progress: every unfinished job, export or source run on the page asks for its counters
// once a second, until it ends. A box names what it follows by data-job, data-export or
// data-url; a box marked data-reload-when-done loads the page again once it ends.
const POLL_MS = 1000;

function setStatus(badge, value) {
  if (!badge) return;
  badge.textContent = value.replaceAll("_", " ");
  badge.className = `status status-${value}`;
}

function setNumber(within, field, value) {
  const el = within.querySelector(`[data-field="${field}"]`);
  if (el) el.textContent = Number(value).toLocaleString();
}

function updateJobSummary(data) {
  const set = (id, text) => { const el = document.getElementById(id); if (el) el.textContent = text; };
  setStatus(document.querySelector("#job-status .status"), data.status);
  set("job-rate", data.per_minute.toFixed(1));
  set("job-eta", data.eta_seconds === null ? "—" : `${data.eta_seconds} s`);
  set("job-succeeded", data.succeeded);
  set("job-failed", data.failed);
  set("job-canceled", data.canceled);
  if (data.final) document.getElementById("cancel-job")?.closest("form")?.remove();
}

// An export's row or page: its status, what it wrote, and its download link once ready.
function updateExport(item, data) {
  setStatus(item.querySelector(".export-status .status"), data.status);
  setNumber(item, "rows", data.rows);
  setNumber(item, "images", data.images);
  if (data.final) for (const form of item.querySelectorAll(".cancel-export")) form.remove();
  if (data.download) item.querySelector("a.download")?.removeAttribute("hidden");
}

function update(box, data) {
  const bar = box.querySelector("progress");
  if (bar) { bar.value = data.percent; bar.textContent = `${data.percent}%`; }
  for (const el of box.querySelectorAll("[data-field]")) {
    if (el.dataset.field in data) setNumber(box, el.dataset.field, data[el.dataset.field]);
  }
  setStatus(box.querySelector(".status"), data.status);
  const summary = document.getElementById("job-summary");
  if (box.dataset.job && summary && summary.contains(box)) updateJobSummary(data);
  const item = box.closest(".export-item");
  if (box.dataset.export && item) updateExport(item, data);
}

function progressUrl(box) {
  if (box.dataset.url) return box.dataset.url;
  return box.dataset.export ? `/exports/${box.dataset.export}/progress` : `/jobs/${box.dataset.job}/progress`;
}

async function follow(box) {
  const url = progressUrl(box);
  while (box.isConnected) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    let data;
    try {
      const answer = await fetch(url, { headers: { Accept: "application/json" } });
      if (!answer.ok) continue;
      data = await answer.json();
    } catch {
      continue;
    }
    update(box, data);
    if (data.final) {
      box.dataset.final = "true";
      if ("reloadWhenDone" in box.dataset) location.reload();
      return;
    }
  }
}

for (const box of document.querySelectorAll('[data-final="false"]')) follow(box);
