// The export form shows only the settings of the format chosen: each fieldset names its
// formats in data-formats. A hidden fieldset is disabled too, so its fields are not sent and
// the server takes their defaults. Without this script every fieldset shows.
const form = document.getElementById("start-export");
const format = document.getElementById("e-format");

function showFor(chosen) {
  for (const group of form.querySelectorAll("fieldset[data-formats]")) {
    const mine = group.dataset.formats.split(" ").includes(chosen);
    group.hidden = !mine;
    group.disabled = !mine;
  }
}

if (form && format) {
  showFor(format.value);
  format.addEventListener("change", () => showFor(format.value));
}
