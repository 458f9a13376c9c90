// Archive upload, progressive enhancement: one title / type / year row per chosen file.
// Without JavaScript the shared metadata applies to every file and titles default to file names.
(function () {
  "use strict";
  var input = document.querySelector("input[type=file][data-per-file]");
  var template = document.getElementById("lib-per-file-row");
  if (!input || !template || !("content" in template)) { return; }
  var box = document.getElementById(input.dataset.perFile);
  if (!box) { return; }

  function titleOf(name) {
    var dot = name.lastIndexOf(".");
    var stem = dot > 0 ? name.slice(0, dot) : name;
    return stem.replace(/_/g, " ").replace(/\s+/g, " ").trim();
  }

  input.addEventListener("change", function () {
    box.textContent = "";
    var files = Array.prototype.slice.call(input.files || []);
    if (files.length === 0) { box.hidden = true; return; }
    var intro = document.createElement("p");
    intro.className = "hint";
    intro.textContent = "Vous pouvez préciser le titre, le type et l'année de chaque fichier.";
    box.appendChild(intro);
    files.forEach(function (file, index) {
      var row = template.content.firstElementChild.cloneNode(true);
      row.querySelector("legend").textContent = "Fichier " + (index + 1) + " : " + file.name;
      row.querySelectorAll(".field").forEach(function (field) {
        var label = field.querySelector("label");
        var control = field.querySelector("input, select");
        var id = "lib-file-" + index + "-" + control.name;
        control.id = id;
        label.htmlFor = id;
      });
      row.querySelector("input[name=file_title]").value = titleOf(file.name);
      box.appendChild(row);
    });
    box.hidden = false;
  });
})();
