// Searchable pickers with removable chips, over a native <select> (progressive enhancement).
//
// <select data-picker> (single or multiple): its options are searched as one types.
// <select data-picker-suggest="/api/v1/documents/suggest?exclude=12">: the options come from that
// JSON address (documents the user may read), asked for once two characters are typed.
//
// The native <select> stays in the form, hidden, and keeps the chosen values: the form submits
// exactly what it submits without JavaScript. The widget follows the ARIA combobox + listbox
// pattern: a text field (role=combobox) that controls a list (role=listbox), the active option
// given by aria-activedescendant, a polite live region that says how many options match, and the
// chosen values as buttons « Retirer … ». Keys: arrows move, Enter chooses, Escape closes (then
// clears), Backspace in the empty field removes the last chip, Tab leaves.
(function () {
  "use strict";
  //: Options shown at once: beyond that, the count invites the user to type more.
  var MAX_SHOWN = 50;
  //: Wait after the last key before asking the server (ms).
  var DEBOUNCE = 200;

  function fold(text) {
    return String(text || "").toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .replace(/œ/g, "oe").replace(/æ/g, "ae");
  }

  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text) { node.textContent = text; }
    return node;
  }

  function Picker(select) {
    this.select = select;
    this.multiple = select.multiple;
    this.remote = select.getAttribute("data-picker-suggest");
    this.id = select.id || ("picker-" + Math.random().toString(36).slice(2));
    this.label = document.querySelector("label[for='" + this.id + "']");
    this.name = this.label ? this.label.textContent.trim() : (select.getAttribute("aria-label") || "Choix");
    this.matches = [];
    this.active = -1;
    this.timer = null;
    this.request = null;
    this.build();
    this.renderChips();
  }

  Picker.prototype.build = function () {
    var select = this.select, self = this;
    var box = el("div", { "class": "picker" + (this.multiple ? " picker-multiple" : " picker-single") });
    this.chips = el("ul", { "class": "picker-chips", "aria-label": "Choix retenus : " + this.name });
    var field = el("div", { "class": "picker-field" });
    this.input = el("input", {
      type: "text", id: this.id + "-picker", "class": "picker-input", role: "combobox",
      "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": this.id + "-listbox",
      autocomplete: "off", spellcheck: "false"
    });
    this.listbox = el("ul", { id: this.id + "-listbox", "class": "picker-listbox", role: "listbox",
                              "aria-label": this.name });
    this.listbox.hidden = true;
    this.help = el("p", { id: this.id + "-help", "class": "hint picker-help" },
      this.remote ? "Tapez au moins deux caractères du titre, ou le numéro ; flèches pour parcourir, Entrée pour choisir."
        : this.multiple ? "Tapez pour chercher ; flèches pour parcourir, Entrée pour ajouter ; Retour arrière retire le dernier choix."
          : "Tapez pour chercher ; flèches pour parcourir, Entrée pour choisir.");
    this.status = el("p", { id: this.id + "-status", "class": "visually-hidden", role: "status", "aria-live": "polite" });
    field.appendChild(this.input);
    field.appendChild(this.listbox);
    box.appendChild(this.chips);
    box.appendChild(field);
    box.appendChild(this.status);

    // What described the native control describes the field; a hint about Ctrl-clicking no longer applies.
    var described = (select.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (id) {
      var hint = id && document.getElementById(id);
      if (hint && self.multiple && /Ctrl/.test(hint.textContent)) { hint.hidden = true; return false; }
      return !!hint;
    });
    described.push(this.help.id);
    this.input.setAttribute("aria-describedby", described.join(" "));
    if (select.getAttribute("aria-invalid")) { this.input.setAttribute("aria-invalid", select.getAttribute("aria-invalid")); }
    if (select.required) { this.input.setAttribute("aria-required", "true"); select.required = false; }
    if (select.disabled) { this.input.disabled = true; }
    if (this.label) { this.label.htmlFor = this.input.id; }
    select.hidden = true;
    select.tabIndex = -1;
    select.parentNode.insertBefore(this.help, select);
    select.parentNode.insertBefore(box, select);

    this.input.addEventListener("input", function () { self.search(); });
    this.input.addEventListener("keydown", function (event) { self.key(event); });
    this.input.addEventListener("click", function () { if (self.listbox.hidden) { self.search(); } });
    this.input.addEventListener("blur", function () {
      window.setTimeout(function () { if (document.activeElement !== self.input) { self.close(); } }, 150);
    });
    // A click on an option must not take the focus from the field first.
    this.listbox.addEventListener("mousedown", function (event) { event.preventDefault(); });
    this.listbox.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]");
      if (option) { self.choose(Number(option.getAttribute("data-index"))); }
    });
    this.chips.addEventListener("click", function (event) {
      var chip = event.target.closest("button[data-value]");
      if (chip) { self.remove(chip.getAttribute("data-value")); self.input.focus(); }
    });
  };

  // ------------------------------------------------------------------ options

  Picker.prototype.localOptions = function () {
    var out = [];
    Array.prototype.forEach.call(this.select.options, function (option) {
      if (option.value === "" || option.disabled) { return; }
      var group = option.parentNode && option.parentNode.tagName === "OPTGROUP" ? option.parentNode.label : "";
      out.push({ value: option.value, label: option.textContent.trim(), group: group,
                 key: fold(option.textContent + " " + group) });
    });
    return out;
  };

  Picker.prototype.search = function () {
    var self = this, query = this.input.value.trim();
    if (this.remote) {
      window.clearTimeout(this.timer);
      if (query.length < 2 && !/^\d+$/.test(query)) {
        this.show([], query ? "Tapez au moins deux caractères." : "");
        return;
      }
      this.timer = window.setTimeout(function () { self.fetch(query); }, DEBOUNCE);
      return;
    }
    var words = fold(query).split(/\s+/).filter(Boolean);
    var chosen = this.multiple ? this.values() : [];
    var found = this.localOptions().filter(function (option) {
      return chosen.indexOf(option.value) < 0 && words.every(function (w) { return option.key.indexOf(w) >= 0; });
    });
    var message = found.length === 0 ? "Aucun résultat." : found.length > MAX_SHOWN
      ? plural(found.length, "résultat", "résultats") + ", les " + MAX_SHOWN + " premiers affichés : précisez la recherche."
      : plural(found.length, "résultat", "résultats") + ".";
    this.show(found.slice(0, MAX_SHOWN), message);
  };

  Picker.prototype.fetch = function (query) {
    var self = this;
    if (this.request) { this.request.abort(); }
    var controller = this.request = new AbortController();
    var url = this.remote + (this.remote.indexOf("?") >= 0 ? "&" : "?") + "q=" + encodeURIComponent(query);
    this.status.textContent = "Recherche…";
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, signal: controller.signal })
      .then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      })
      .then(function (answer) {
        if (self.input.value.trim() !== query) { return; }
        if (!answer.ok) {
          self.show([], (answer.data.error && answer.data.error.message) || "Recherche impossible.");
          return;
        }
        var chosen = self.values();
        var found = answer.data.items.filter(function (item) { return chosen.indexOf(String(item.id)) < 0; })
          .map(function (item) { return { value: String(item.id), label: item.label, group: "" }; });
        self.show(found, found.length ? plural(found.length, "document", "documents") + "." : "Aucun document ne correspond.");
      })
      .catch(function (error) {
        if (error.name !== "AbortError") { self.show([], "Recherche impossible : réessayez."); }
      });
  };

  // ------------------------------------------------------------------ list

  Picker.prototype.show = function (matches, message) {
    var self = this;
    this.matches = matches;
    this.listbox.textContent = "";
    matches.forEach(function (match, index) {
      var option = el("li", { id: self.id + "-option-" + index, role: "option", "class": "picker-option",
                              "aria-selected": "false", "data-index": String(index) }, match.label);
      if (match.group) { option.appendChild(el("span", { "class": "picker-group" }, match.group)); }
      self.listbox.appendChild(option);
    });
    var open = matches.length > 0;
    this.listbox.hidden = !open;
    this.input.setAttribute("aria-expanded", open ? "true" : "false");
    this.status.textContent = message || "";
    // Typing selects the first match (Enter takes it); with nothing typed, the arrows start the walk.
    this.move(open && this.input.value.trim() ? 0 : -1);
  };

  Picker.prototype.move = function (index) {
    var options = this.listbox.querySelectorAll("[role=option]");
    if (this.active >= 0 && options[this.active]) {
      options[this.active].setAttribute("aria-selected", "false");
      options[this.active].classList.remove("is-active");
    }
    this.active = options.length ? Math.max(-1, Math.min(index, options.length - 1)) : -1;
    if (this.active >= 0) {
      var option = options[this.active];
      option.setAttribute("aria-selected", "true");
      option.classList.add("is-active");
      this.input.setAttribute("aria-activedescendant", option.id);
      if (option.scrollIntoView) { option.scrollIntoView({ block: "nearest" }); }
    } else {
      this.input.removeAttribute("aria-activedescendant");
    }
  };

  Picker.prototype.close = function () {
    window.clearTimeout(this.timer);
    this.listbox.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.move(-1);
  };

  Picker.prototype.key = function (event) {
    var open = !this.listbox.hidden;
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        if (!open) { this.search(); } else { this.move(this.active + 1); }
        break;
      case "ArrowUp":
        event.preventDefault();
        if (open) { this.move(this.active <= 0 ? this.matches.length - 1 : this.active - 1); }
        break;
      case "Enter":
        if (open && this.active >= 0) {
          event.preventDefault();
          this.choose(this.active);
        } else if (this.input.value.trim()) {
          // A half-typed search is not a value: Enter never submits the form with it.
          event.preventDefault();
        }
        break;
      case "Escape":
        if (open) { event.preventDefault(); this.close(); } else if (this.input.value) {
          event.preventDefault();
          this.input.value = "";
          this.status.textContent = "";
        }
        break;
      case "Backspace":
        if (!this.input.value) {
          var last = this.values().pop();
          if (last !== undefined) { event.preventDefault(); this.remove(last); }
        }
        break;
      case "Tab":
        this.close();
        break;
    }
  };

  // ------------------------------------------------------------------ values and chips

  Picker.prototype.values = function () {
    return Array.prototype.filter.call(this.select.options, function (o) { return o.selected && o.value !== ""; })
      .map(function (o) { return o.value; });
  };

  Picker.prototype.optionFor = function (value) {
    return Array.prototype.find.call(this.select.options, function (o) { return o.value === value; });
  };

  Picker.prototype.choose = function (index) {
    var match = this.matches[index];
    if (!match) { return; }
    var option = this.optionFor(match.value);
    if (!option) {
      // A suggestion from the server: the native list learns it, so the form submits it.
      option = el("option", { value: match.value }, match.label);
      this.select.appendChild(option);
    }
    if (!this.multiple) { this.select.value = match.value; }
    option.selected = true;
    this.input.value = "";
    this.close();
    this.renderChips();
    this.status.textContent = (this.multiple ? "Ajouté : " : "Choisi : ") + match.label + ".";
    this.select.dispatchEvent(new Event("change", { bubbles: true }));
  };

  Picker.prototype.remove = function (value) {
    var option = this.optionFor(value);
    if (!option || this.select.disabled) { return; }
    if (this.multiple) {
      option.selected = false;
    } else {
      var empty = this.optionFor("");
      if (empty) { empty.selected = true; } else { this.select.selectedIndex = -1; }
    }
    this.renderChips();
    this.status.textContent = "Retiré : " + option.textContent.trim() + ".";
    this.select.dispatchEvent(new Event("change", { bubbles: true }));
  };

  Picker.prototype.renderChips = function () {
    var self = this;
    this.chips.textContent = "";
    this.values().forEach(function (value) {
      var text = self.optionFor(value).textContent.trim();
      var chip = el("button", { type: "button", "class": "chip", "data-value": value });
      chip.appendChild(el("span", { "class": "visually-hidden" }, "Retirer "));
      chip.appendChild(el("span", { "class": "chip-label" }, text));
      chip.appendChild(el("span", { "class": "chip-x", "aria-hidden": "true" }, "×"));
      if (self.select.disabled) { chip.disabled = true; }
      var item = el("li");
      item.appendChild(chip);
      self.chips.appendChild(item);
    });
    this.chips.hidden = this.chips.children.length === 0;
  };

  document.querySelectorAll("select[data-picker], select[data-picker-suggest]").forEach(function (select) {
    select.picker = new Picker(select);
  });
  // The no-JavaScript way to find a document (a search form that reloads the page) gives way to the picker.
  document.querySelectorAll("[data-picker-fallback]").forEach(function (node) { node.hidden = true; });
})();
