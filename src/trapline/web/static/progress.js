// Live progress bars: every unfinished job on the page asks for its counters once a second.
const POLL_MS = 1000;

function update(box, data) {
  const bar = box.querySelector("progress");
  if (bar) { bar.value = data.percent; bar.textContent = `${data.percent}%`; }
  for (const field of ["percent", "done", "total"]) {
    const el = box.querySelector(`[data-field="${field}"]`);
    if (el) el.textContent = Number(data[field]).toLocaleString();
  }
  const summary = document.getElementById("job-summary");
  if (summary && summary.contains(box)) {
    const set = (id, text) => { const el = document.getElementById(id); if (el) el.textContent = text; };
    const status = document.querySelector("#job-status .status");
    if (status) {
      status.textContent = data.status.replaceAll("_", " ");
      status.className = `status status-${data.status}`;
    }
    set("job-rate", data.per_minute.toFixed(1));
    set("job-eta", data.eta_seconds === null ? "—" : `${data.eta_seconds} s`);
    set("job-succeeded", data.succeeded);
    set("job-failed", data.failed);
    set("job-canceled", data.canceled);
    if (data.final) document.getElementById("cancel-job")?.closest("form")?.remove();
  }
}

async function follow(box) {
  const job = box.dataset.job;
  while (box.isConnected) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    let data;
    try {
      const answer = await fetch(`/jobs/${job}/progress`, { headers: { Accept: "application/json" } });
      if (!answer.ok) continue;
      data = await answer.json();
    } catch {
      continue;
    }
    update(box, data);
    if (data.final) { box.dataset.final = "true"; return; }
  }
}

for (const box of document.querySelectorAll('.progress[data-final="false"]')) follow(box);
