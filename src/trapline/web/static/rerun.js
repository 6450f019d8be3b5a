// The job form says how many of the photos chosen the pipeline version chosen analysed
// already (a job skips them unless "Re-run" is ticked): the server counts when the form is
// shown and as the choices change (the page itself does not count: over a whole project that
// reads every analysis of the version). Without script there is no note; the job's history
// says what it skipped.
// The threshold field names the default threshold of the pipeline chosen (its option's
// data-threshold), or that it declares none.
const form = document.getElementById("start-job");
const note = document.getElementById("analysed-note");
const threshold = document.getElementById("job-threshold");
const fallback = document.getElementById("threshold-default");

function showDefault() {
  const value = form.querySelector("#pipeline")?.selectedOptions[0]?.dataset.threshold;
  threshold.placeholder = value ?? "";
  fallback.textContent = value ? `the pipeline's own, ${value}` : fallback.dataset.none;
}

async function refresh() {
  const pipeline = form.querySelector("#pipeline")?.value ?? "";
  const scope = form.querySelector("#scope")?.value ?? "";
  const query = new URLSearchParams({ pipeline, scope });
  try {
    const answer = await fetch(`${note.dataset.analysed}?${query}`, { credentials: "same-origin" });
    if (!answer.ok) return;
    const data = await answer.json();
    note.textContent = data.note;
  } catch {
    // The note stays as it was; the job's own history says what it skipped.
  }
}

if (form && note) {
  refresh();
  form.querySelector("#pipeline")?.addEventListener("change", refresh);
  form.querySelector("#scope")?.addEventListener("change", refresh);
}
if (form && threshold && fallback) {
  form.querySelector("#pipeline")?.addEventListener("change", showDefault);
}
