// Drafting forms: live totals of the amounts (the server computes them again on generation).
// Progressive enhancement only: without JavaScript the total reads "calculé à la génération".
(function () {
  "use strict";
  function parseAmount(text) {
    var cleaned = String(text || "").replace(/[\s\u00a0\u202f€]/g, "").replace(/eur(os?)?/i, "");
    if (!cleaned) { return 0; }
    if (cleaned.indexOf(",") >= 0) { cleaned = cleaned.replace(/\./g, "").replace(",", "."); }
    var value = Number(cleaned);
    return isNaN(value) ? NaN : value;
  }
  var euros = new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR" });
  function inputsFor(form, source) {
    if (source.indexOf("[].") > 0) {
      var parts = source.split("[].");
      var pattern = new RegExp("^" + parts[0] + "\\[\\d+\\]\\." + parts[1] + "$");
      return Array.prototype.filter.call(form.querySelectorAll("input[data-amount]"), function (el) {
        return pattern.test(el.name);
      });
    }
    var el = form.querySelector("input[name='" + source + "']");
    return el ? [el] : [];
  }
  function update(form) {
    form.querySelectorAll("output.draft-total[data-sum]").forEach(function (out) {
      var total = 0, valid = true;
      out.dataset.sum.split(" ").forEach(function (source) {
        inputsFor(form, source).forEach(function (el) {
          var value = parseAmount(el.value);
          if (isNaN(value)) { valid = false; } else { total += value; }
        });
      });
      out.textContent = valid ? euros.format(total) : "montant invalide dans une ligne";
    });
  }
  document.querySelectorAll("form.draft-form").forEach(function (form) {
    form.addEventListener("input", function () { update(form); });
    update(form);
  });
})();
