// Search page, progressive enhancement: ticking a facet runs the search at once.
// Without JavaScript the "Appliquer les filtres" button does the same.
(function () {
  "use strict";
  var form = document.getElementById("search-form");
  if (!form) { return; }
  form.querySelectorAll("input[data-autosubmit]").forEach(function (box) {
    box.addEventListener("change", function () {
      // A new filter starts again from the first page (no page field is kept).
      form.submit();
    });
  });
  var apply = form.querySelector(".search-apply");
  if (apply) { apply.classList.add("search-apply-js"); }
})();
