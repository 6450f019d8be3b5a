// The pull-source form shows the fields of the kind picked: its URL example, the S3 endpoint,
// its credentials. Fields of other kinds are disabled, so they are not sent.
const kind = document.getElementById("s-kind");

function show() {
  for (const part of document.querySelectorAll("#source-form [data-kinds]")) {
    const fits = part.dataset.kinds.split(" ").includes(kind.value);
    part.hidden = !fits;
    for (const input of part.querySelectorAll("input")) input.disabled = !fits;
  }
}

if (kind) {
  kind.addEventListener("change", show);
  show();
}
