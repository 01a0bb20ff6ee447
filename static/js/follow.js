// Following a meeting from one's own screen: the changing part of the page is
// fetched again every few seconds and put in place. Without this script the
// page is shown as it was, with a "Refresh" link.
"use strict";

(function () {
  var live = document.getElementById("follow-live");
  if (!live || !window.fetch) {
    return;
  }
  var stale = document.getElementById("follow-stale");
  var url = live.getAttribute("data-refresh-url");
  var seconds = parseInt(live.getAttribute("data-refresh-seconds"), 10) || 10;
  var busy = false;

  function shown() {
    // The case this page shows already: the server records a case as opened
    // when the page first shows it, not at each refresh.
    var root = live.querySelector("[data-current-item]");
    return root ? root.getAttribute("data-current-item") : "";
  }

  function refresh() {
    if (busy || document.hidden) {
      return;
    }
    busy = true;
    var seen = shown();
    var target = url + (seen ? (url.indexOf("?") < 0 ? "?" : "&") + "seen=" + encodeURIComponent(seen) : "");
    window
      .fetch(target, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.redirected) {
          // Signed out meanwhile: the whole page goes to the login form.
          window.location.reload();
          return null;
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        if (html === null) {
          return;
        }
        live.innerHTML = html;
        if (stale) {
          stale.hidden = true;
        }
      })
      .catch(function () {
        if (stale) {
          stale.hidden = false;
        }
      })
      .then(function () {
        busy = false;
      });
  }

  window.setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      refresh();
    }
  });
})();
