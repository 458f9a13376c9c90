// Progressive enhancement only: every page works without JavaScript.
(function () {
  "use strict";
  // Buttons that need a confirmation carry data-confirm="message".
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = (button && button.dataset.confirm) || event.target.dataset.confirm;
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
  // Progress bars that poll a JSON status URL: <progress data-poll="/url">.
  function poll(el) {
    fetch(el.dataset.poll, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        el.max = data.total || 1;
        el.value = data.done || 0;
        var label = document.getElementById(el.dataset.label || "");
        if (label && data.message) { label.textContent = data.message; }
        if (data.finished) {
          if (data.redirect) { window.location.assign(data.redirect); }
        } else {
          window.setTimeout(function () { poll(el); }, 1000);
        }
      })
      .catch(function () { window.setTimeout(function () { poll(el); }, 3000); });
  }
  document.querySelectorAll("progress[data-poll]").forEach(poll);
})();
