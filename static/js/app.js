// RCP Tracker: small progressive enhancements; every page works without them.
"use strict";

// Forms marked data-warn-unsaved ask before the page is left with changes typed
// but not saved (meeting mode, the procedure form).
(function () {
  var dirty = false;
  document.querySelectorAll("form[data-warn-unsaved]").forEach(function (form) {
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function () { dirty = false; });
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();

// Forms marked data-keep-on-language keep what was typed when the language is
// switched: the values wait in this tab's session storage for the page to come
// back in the other language (never sent anywhere, gone once restored).
(function () {
  var key = "kept-form:" + location.pathname;
  var form = document.querySelector("form[data-keep-on-language]");
  if (!form) { return; }
  var saved = sessionStorage.getItem(key);
  if (saved) {
    sessionStorage.removeItem(key);
    JSON.parse(saved).forEach(function (entry) {
      var name = entry[0], value = entry[1];
      if (name === "csrf_token") { return; }
      form.querySelectorAll("[name='" + CSS.escape(name) + "']").forEach(function (input) {
        if (input.type === "radio" || input.type === "checkbox") {
          if (input.value === value) { input.checked = true; }
        } else {
          input.value = value;
        }
      });
    });
    form.dispatchEvent(new Event("change"));
  }
  document.querySelectorAll("form.language-switch").forEach(function (switcher) {
    switcher.addEventListener("submit", function () {
      var entries = [];
      new FormData(form).forEach(function (value, name) { entries.push([name, String(value)]); });
      sessionStorage.setItem(key, JSON.stringify(entries));
      form.dispatchEvent(new Event("submit"));
    });
  });
})();

// A refused form's error summary takes the focus when the page opens, so it is
// read first; its links move the focus to the field itself (for a group of
// buttons or boxes, to its first one) rather than only scrolling to it.
(function () {
  var summary = document.querySelector("[data-error-summary]");
  if (!summary) { return; }
  summary.focus();
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) { return; }
    var target = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (!target) { return; }
    var input = target.matches("input, select, textarea")
      ? target : target.querySelector("input:not([type=hidden]), select, textarea");
    if (!input) { return; }
    event.preventDefault();
    (target.closest("fieldset, .mb-3") || target).scrollIntoView();
    input.focus({ preventScroll: true });
  });
})();

// A form that is sending cannot be sent again: its submit buttons are disabled
// until the next page (the server also refuses a form sent twice). The clicked
// button's name and value still go with the form, through a hidden copy.
// Forms opening elsewhere (target) or marked data-submit-again are left alone.
(function () {
  function release(form) {
    form.querySelectorAll("[data-sending]").forEach(function (element) {
      if (element.type === "hidden") { element.remove(); } else { element.disabled = false; }
      element.removeAttribute("data-sending");
    });
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.target || form.hasAttribute("data-submit-again")) { return; }
    var clicked = event.submitter;
    if (clicked && clicked.name && clicked.form === form) {
      var copy = document.createElement("input");
      copy.type = "hidden";
      copy.name = clicked.name;
      copy.value = clicked.value;
      copy.setAttribute("data-sending", "");
      form.appendChild(copy);
    }
    form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]").forEach(
      function (button) {
        if (!button.disabled) {
          button.disabled = true;
          button.setAttribute("data-sending", "");
        }
      });
    // A download keeps the page: the buttons come back after a while.
    setTimeout(function () { release(form); }, 8000);
  });
  // Coming back to the page with the Back button.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form").forEach(release);
  });
})();
