// Drag-and-drop upload with a progress bar: files go up in small batches to the page's upload
// route (session cookie + CSRF header), then the grid reloads to show them.
import { csrfToken } from "./csrf.js";

const BATCH = 20;
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

async function upload(files) {
  if (!files.length) return;
  const project = zone.dataset.project;
  const totalBytes = files.reduce((n, f) => n + f.size, 0) || 1;
  bar.hidden = false;
  bar.value = 0;
  let sent = 0, created = 0, duplicates = 0;
  try {
    for (let i = 0; i < files.length; i += BATCH) {
      const batch = files.slice(i, i + BATCH);
      status.textContent = `Uploading ${Math.min(i + BATCH, files.length)} of ${files.length}…`;
      const results = await send(project, batch, sent, totalBytes);
      sent += batch.reduce((n, f) => n + f.size, 0);
      for (const r of results) { if (r.duplicate) duplicates += 1; else created += 1; }
    }
    bar.value = 100;
    status.textContent = `Uploaded ${created} new image${created === 1 ? "" : "s"}` +
      (duplicates ? `, ${duplicates} already there` : "") + ".";
    zone.dataset.done = String(created + duplicates);
    setTimeout(() => window.location.reload(), 600);
  } catch (error) {
    status.textContent = error.message;
    zone.dataset.error = error.message;
  }
}

zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
zone.addEventListener("dragleave", () => zone.classList.remove("over"));
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  zone.classList.remove("over");
  upload([...event.dataTransfer.files]);
});
input.addEventListener("change", () => upload([...input.files]));
