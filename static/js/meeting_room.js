// Meeting mode: a timer for the case against the minutes allotted to it, and
// keyboard shortcuts. Without this script the page shows the minutes allotted
// and every action is a link or a button.
"use strict";

(function () {
  // The timer: time spent on this case since it was first opened in this tab
  // (kept in the tab's session storage, so that saving a draft does not reset
  // it). It only informs: nothing is blocked when the time is up.
  var timer = document.getElementById("case-timer");
  if (timer) {
    var key = "case-timer:" + timer.getAttribute("data-item");
    var allotted = parseInt(timer.getAttribute("data-minutes"), 10) * 60;
    var started = parseInt(sessionStorage.getItem(key), 10);
    if (isNaN(started)) {
      started = Date.now();
      sessionStorage.setItem(key, String(started));
    }
    var elapsed = timer.querySelector(".case-timer-elapsed");
    var slash = timer.querySelector(".case-timer-slash");
    elapsed.hidden = false;
    slash.hidden = false;
    var tick = function () {
      var seconds = Math.max(0, Math.floor((Date.now() - started) / 1000));
      var minutes = Math.floor(seconds / 60);
      var rest = seconds % 60;
      elapsed.textContent = minutes + ":" + (rest < 10 ? "0" : "") + rest;
      timer.classList.toggle("over-time", allotted > 0 && seconds > allotted);
    };
    tick();
    window.setInterval(tick, 1000);
  }

  // Alt+N / Alt+P: next / previous case; Alt+S: save the draft; Alt+V:
  // validate (which asks to confirm on a page of its own). Always with Alt, so
  // that typing in a field never triggers one; Chromium binds none of these.
  var targets = {
    n: "#next-case",
    p: "#previous-case",
    s: "#decision-form button[name=action][value=save]",
    v: "#decision-form button[name=action][value=validate]",
  };
  document.addEventListener("keydown", function (event) {
    if (!event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || event.repeat) {
      return;
    }
    // The physical key (on a Mac, Alt+letter types another character).
    var letter = /^Key[A-Z]$/.test(event.code || "") ? event.code.charAt(3).toLowerCase() : "";
    var target = targets[letter] && document.querySelector(targets[letter]);
    if (!target) {
      return;
    }
    event.preventDefault();
    target.click();
  });
})();
