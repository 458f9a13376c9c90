// Archive upload, progressive enhancement: one row per chosen file with its title, type and year.
// Without JavaScript the shared « Titre » serves a single file; left empty, each document takes its
// own title (file properties, first heading), else its file name — decided by the server.
// With JavaScript the shared « Titre », « Type » and « Année » are hidden while the rows show, so
// the page never has two of each; what was typed is carried into the rows, never replaced by a file name.
(function () {
  "use strict";
  var input = document.querySelector("input[type=file][data-per-file]");
  var template = document.getElementById("lib-per-file-row");
  if (!input || !template || !("content" in template)) { return; }
  var box = document.getElementById(input.dataset.perFile);
  var shared = {
    title: document.getElementById("title"),
    type: document.getElementById("doc_type"),
    year: document.getElementById("year")
  };
  if (!box || !shared.title || !shared.type || !shared.year) { return; }

  function stemOf(name) {
    var dot = name.lastIndexOf(".");
    var stem = dot > 0 ? name.slice(0, dot) : name;
    return stem.replace(/_/g, " ").replace(/\s+/g, " ").trim();
  }

  function showShared(visible) {
    Object.keys(shared).forEach(function (key) { shared[key].closest(".field").hidden = !visible; });
    // The shared title is not sent while hidden: it cannot compete with the per-file titles.
    // Type and year are still sent, as the default of any row left without one.
    shared.title.disabled = !visible;
  }

  input.addEventListener("change", function () {
    // What was already typed (in the shared box, or for a file chosen again) is kept.
    var typed = {};
    box.querySelectorAll("fieldset").forEach(function (row) {
      typed[row.dataset.file] = {
        title: row.querySelector("input[name=file_title]").value,
        type: row.querySelector("select[name=file_type]").value,
        year: row.querySelector("input[name=file_year]").value
      };
    });
    var sharedTitle = shared.title.disabled ? "" : shared.title.value.trim();
    box.textContent = "";
    var files = Array.prototype.slice.call(input.files || []);
    if (files.length === 0) {
      box.hidden = true;
      showShared(true);
      return;
    }
    var intro = document.createElement("p");
    intro.className = "hint";
    intro.textContent = "Titre, type et année de chaque fichier ; le reste de la description vaut pour tous.";
    box.appendChild(intro);
    files.forEach(function (file, index) {
      var row = template.content.firstElementChild.cloneNode(true);
      var before = typed[file.name] || {};
      row.dataset.file = file.name;
      row.querySelector("legend").textContent = "Fichier " + (index + 1) + " : " + file.name;
      row.querySelectorAll(".field").forEach(function (field) {
        var label = field.querySelector("label");
        var control = field.querySelector("input, select");
        control.id = "lib-file-" + index + "-" + control.name;
        label.htmlFor = control.id;
      });
      var title = row.querySelector("input[name=file_title]");
      var hint = row.querySelector(".hint");
      hint.id = title.id + "-hint";
      hint.textContent = "Laissé vide : le titre du document lui-même, à défaut « " + stemOf(file.name) + " ».";
      title.setAttribute("aria-describedby", hint.id);
      title.value = before.title || (index === 0 ? sharedTitle : "");
      row.querySelector("select[name=file_type]").value = before.type || shared.type.value;
      row.querySelector("input[name=file_year]").value = before.year || shared.year.value;
      box.appendChild(row);
    });
    if (sharedTitle) { shared.title.value = ""; }
    showShared(false);
    box.hidden = false;
  });
})();
