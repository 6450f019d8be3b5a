// Drag-and-drop upload with a progress bar: files go up in small batches to the page's upload
// route (session cookie + CSRF header), then the grid reloads to show them. A batch holds at
// most BATCH files and stays under the server's request limit, so a big file goes up on its
// own; one over the limit for one file is refused by name and the others are stored.
import { csrfToken } from "./csrf.js";

const BATCH = 20;
// Room for the multipart framing of a batch (each part's headers, the deployment field).
const FRAMING = 64 * 1024;
const DONE_KEY = "trapline-upload-done";
const zone = document.getElementById("dropzone");
const input = document.getElementById("file-input");
const bar = document.getElementById("upload-progress");
const status = document.getElementById("upload-status");
const deployment = document.getElementById("upload-deployment");

function send(project, files, sentBefore, totalBytes) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    if (deployment.value) form.append("deployment", deployment.value);
    const request = new XMLHttpRequest();
    request.open("POST", `/projects/${project}/upload`);
    request.setRequestHeader("X-CSRF-Token", csrfToken());
    request.setRequestHeader("Accept", "application/json");
    request.upload.onprogress = (event) => {
      bar.value = Math.round((100 * (sentBefore + event.loaded)) / totalBytes);
    };
    request.onload = () => {
      let body = {};
      try { body = JSON.parse(request.responseText); } catch { /* not JSON */ }
      if (request.status === 201) resolve(body.results || []);
      else reject(new Error(body.detail || `upload failed (${request.status})`));
    };
    request.onerror = () => reject(new Error("upload failed: the server could not be reached"));
    request.send(form);
  });
}

// Consecutive batches of at most BATCH files and `budget` bytes (a larger file alone).
function* batches(files, budget) {
  let batch = [], bytes = 0;
  for (const file of files) {
    if (batch.length && (batch.length === BATCH || bytes + file.size > budget)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(file);
    bytes += file.size;
  }
  if (batch.length) yield batch;
}

function deploymentName(id) {
  if (!id) return "no deployment";
  const option = [...deployment.options].find((o) => o.value === id);
  return option ? option.textContent : `deployment ${id}`;
}

async function upload(files) {
  if (!files.length) return;
  const project = zone.dataset.project;
  const totalBytes = files.reduce((n, f) => n + f.size, 0) || 1;
  bar.hidden = false;
  bar.value = 0;
  let sent = 0, started = 0, created = 0, duplicates = 0;
  const refused = [];
  // Duplicates whose first copy is in another deployment than the one chosen: by its name.
  const elsewhere = new Map();
  const chosen = deployment.value;
  const budget = Math.max(1, Number(zone.dataset.maxRequest) - FRAMING);
  try {
    for (const batch of batches(files, budget)) {
      status.textContent = `Uploading ${started + batch.length} of ${files.length}…`;
      started += batch.length;
      const results = await send(project, batch, sent, totalBytes);
      sent += batch.reduce((n, f) => n + f.size, 0);
      for (const r of results) {
        if (r.refused) refused.push(`${r.filename}: ${r.refused}`);
        else if (r.duplicate) {
          duplicates += 1;
          const at = r.deployment_id === null ? "" : String(r.deployment_id);
          const name = deploymentName(at);
          if (at !== chosen) elsewhere.set(name, (elsewhere.get(name) || 0) + 1);
        }
        else created += 1;
      }
    }
    bar.value = 100;
    const text = `Uploaded ${created} new image${created === 1 ? "" : "s"}` +
      (duplicates ? `, ${duplicates} already there` : "") +
      (elsewhere.size ? ` (${[...elsewhere].map(([name, n]) => `${n} of them ${n === 1 ? "stays" : "stay"} in ${name}`).join(", ")})` : "") +
      (refused.length ? `; ${refused.length} refused (${refused.join("; ")})` : "") + ".";
    // The grid reloads to show them; the outcome is shown again once it has, and the next
    // batch goes into the same deployment unless the person picks another.
    sessionStorage.setItem(
      DONE_KEY, JSON.stringify({ text, count: created + duplicates, into: deployment.value }),
    );
    window.location.reload();
  } catch (error) {
    status.textContent = error.message;
    zone.dataset.error = error.message;
  }
}

const done = sessionStorage.getItem(DONE_KEY);
if (done) {
  sessionStorage.removeItem(DONE_KEY);
  const { text, count, into } = JSON.parse(done);
  status.textContent = text;
  if (into && [...deployment.options].some((option) => option.value === into)) {
    deployment.value = into;
  }
  zone.dataset.done = String(count);
}

zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
zone.addEventListener("dragleave", () => zone.classList.remove("over"));
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  zone.classList.remove("over");
  upload([...event.dataTransfer.files]);
});
input.addEventListener("change", () => upload([...input.files]));
