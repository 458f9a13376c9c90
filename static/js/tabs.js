// Tabs, progressive enhancement. Without JavaScript the tab list is a list of links to the
// panels (#apercu…) and CSS shows the targeted panel (:target), else the first one.
// With JavaScript it follows the ARIA tabs pattern: role=tablist/tab/tabpanel, one tab in the
// Tab order, Left/Right/Home/End to move, the address keeps the panel (#versions) for reloads.
(function () {
  "use strict";
  document.querySelectorAll("[data-tabs]").forEach(function (box) {
    var list = box.querySelector(".tab-list ul");
    var links = Array.prototype.slice.call(box.querySelectorAll(".tab-link"));
    var panels = links.map(function (link) { return document.getElementById(link.getAttribute("href").slice(1)); });
    if (!list || links.length === 0 || panels.indexOf(null) !== -1) { return; }
    box.classList.add("tabset-js");
    list.setAttribute("role", "tablist");
    var label = box.querySelector(".tab-list").getAttribute("aria-label");
    if (label) { list.setAttribute("aria-label", label); }
    links.forEach(function (link, i) {
      link.parentNode.setAttribute("role", "presentation");
      link.setAttribute("role", "tab");
      link.setAttribute("aria-controls", panels[i].id);
      panels[i].setAttribute("role", "tabpanel");
      panels[i].setAttribute("aria-labelledby", link.id);
      panels[i].setAttribute("tabindex", "0");
    });

    function select(index, focus, remember) {
      links.forEach(function (link, i) {
        var on = i === index;
        link.setAttribute("aria-selected", on ? "true" : "false");
        link.setAttribute("tabindex", on ? "0" : "-1");
        panels[i].hidden = !on;
      });
      if (focus) { links[index].focus(); }
      if (remember && window.history && window.history.replaceState) {
        window.history.replaceState(null, "", "#" + panels[index].id);
      }
    }

    function fromHash() {
      var id = window.location.hash.slice(1);
      for (var i = 0; i < panels.length; i += 1) {
        // The hash may name a panel or anything inside one (a heading, a form field).
        var target = id && document.getElementById(id);
        if (target && (panels[i] === target || panels[i].contains(target))) { return i; }
      }
      return 0;
    }

    links.forEach(function (link, i) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        select(i, true, true);
      });
      link.addEventListener("keydown", function (event) {
        var next = null;
        if (event.key === "ArrowRight") { next = (i + 1) % links.length; }
        else if (event.key === "ArrowLeft") { next = (i - 1 + links.length) % links.length; }
        else if (event.key === "Home") { next = 0; }
        else if (event.key === "End") { next = links.length - 1; }
        if (next !== null) {
          event.preventDefault();
          select(next, true, true);
        }
      });
    });
    window.addEventListener("hashchange", function () { select(fromHash(), false, false); });
    select(fromHash(), false, false);
  });
})();
