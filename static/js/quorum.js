// Meeting page: the quorum follows the attendance boxes as they are ticked,
// before the sheet is saved. The server computes the same on every page load.
"use strict";

(function () {
  var box = document.getElementById("quorum");
  var form = document.getElementById("attendance-form");
  if (!box || !form) {
    return;
  }
  // Nursing and other roles do not count towards the physicians' quorum.
  var notCounted = { NURSING: true, OTHER: true };
  var minimum = parseInt(box.getAttribute("data-minimum"), 10);

  function update() {
    var specialties = {};
    var labels = [];
    var sources = Array.prototype.slice.call(form.querySelectorAll("input[name=present]:checked"))
      .concat(Array.prototype.slice.call(document.querySelectorAll("#guest-list .guest")));
    sources.forEach(function (element) {
      var specialty = element.getAttribute("data-specialty");
      if (specialty && !notCounted[specialty] && !specialties[specialty]) {
        specialties[specialty] = true;
        labels.push(element.getAttribute("data-specialty-label"));
      }
    });
    var count = labels.length;
    var met = count >= minimum;
    box.querySelector(".quorum-count").textContent = String(count);
    box.querySelector(".quorum-list").textContent = count ? "(" + labels.join(", ") + ")" : "";
    box.querySelector(".quorum-met").hidden = !met;
    box.querySelector(".quorum-not-met").hidden = met;
    box.classList.toggle("alert-success", met);
    box.classList.toggle("alert-warning", !met);
  }

  form.addEventListener("change", update);
})();
