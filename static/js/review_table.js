// The review table: the header checkbox ticks or clears every row of the page.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("change", () => {
    document.querySelectorAll(".row-select").forEach((box) => { box.checked = all.checked; });
  });
});
