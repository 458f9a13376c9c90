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
  // On a phone the facets come after the results, folded: one tap on « Filtrer » opens them.
  var facets = document.getElementById("search-filters");
  if (facets && window.matchMedia("(max-width: 45rem)").matches && !form.querySelector("input[data-autosubmit]:checked")) {
    facets.open = false;
  }
  var apply = form.querySelector(".search-apply");
  if (apply) { apply.classList.add("search-apply-js"); }
})();
