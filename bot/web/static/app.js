// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", function () {
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('input[name="case"]').forEach(function (box) { box.checked = all.checked; });
    });
  }
});
