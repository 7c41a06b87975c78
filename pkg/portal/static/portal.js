// Enclave portal: follows the state of unfinished runs on the runs list and the run page
// by polling the portal's small status endpoint (same session cookie). Everything works
// without it; it only saves a reload.
(function () {
  "use strict";
  var INTERVAL = 3000;

  function poll(el) {
    var url = el.getAttribute("data-status-url");
    if (!url) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (st) {
        if (!st || !st.state) { return; }
        if (el.textContent !== st.state) {
          el.textContent = st.state;
          el.className = "state state-" + st.state.toLowerCase();
        }
        if (st.terminal) {
          el.removeAttribute("data-status-url");
          // The run page shows outputs and times once a run has ended: load them.
          if (el.getAttribute("data-reload") === "true") { window.location.reload(); }
          return;
        }
        window.setTimeout(function () { poll(el); }, INTERVAL);
      })
      .catch(function () { window.setTimeout(function () { poll(el); }, INTERVAL * 3); });
  }

  function start() {
    var els = document.querySelectorAll("[data-status-url]");
    for (var i = 0; i < els.length; i++) {
      (function (el) { window.setTimeout(function () { poll(el); }, INTERVAL); })(els[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
