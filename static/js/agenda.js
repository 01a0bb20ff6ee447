// Meeting page: the agenda put in order by dragging a line or with its arrow
// buttons, without reloading. Each case's start time and what clashes follow
// at once; nothing is kept until "Save the agenda". Without script the arrow
// buttons send the form back in the new order (still to be saved).
// The server computes the same times (meetings.rules.case_start_times) on
// every page load: this is only the preview while the coordinator works.
"use strict";

(function () {
  var table = document.getElementById("agenda-lines");
  var form = document.getElementById("agenda-form");
  var live = document.getElementById("agenda-announce");
  if (!table || !form) {
    return;
  }
  var body = table.tBodies[0];
  var clock = table.getAttribute("data-starts").split(":");
  var start = parseInt(clock[0], 10) * 60 + parseInt(clock[1], 10);
  var end = start + parseInt(table.getAttribute("data-duration"), 10);
  var recorded = table.getAttribute("data-attendance") === "yes";
  var present = {};
  table.getAttribute("data-present").split(",").forEach(function (id) {
    if (id) {
      present[id] = true;
    }
  });
  var dragged = null;

  function rows() {
    return Array.prototype.slice.call(body.rows);
  }

  function movable() {
    return rows().filter(function (row) {
      return row.classList.contains("agenda-line");
    });
  }

  function hhmm(minutes) {
    var day = ((minutes % 1440) + 1440) % 1440;
    var hours = Math.floor(day / 60);
    var rest = day % 60;
    return (hours < 10 ? "0" : "") + hours + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function minutesOf(row) {
    var input = row.querySelector(".line-minutes");
    var value = input ? parseInt(input.value, 10) : NaN;
    if (!(value >= 1 && value <= 240)) {
      value = parseInt(row.getAttribute("data-minutes"), 10);
    }
    return value;
  }

  // Number, start time, position and warnings of every line, in the order shown.
  function refresh() {
    var moment = start;
    var place = 0;
    rows().forEach(function (row, index) {
      var minutes = minutesOf(row);
      row.querySelector(".line-number").textContent = String(index + 1);
      row.querySelector(".line-start").textContent = hhmm(moment);
      row.querySelector(".warn-over").hidden = moment + minutes <= end;
      var position = row.querySelector(".line-position");
      if (position) {
        place += 1;
        position.value = String(place);
      }
      var presenter = row.querySelector(".line-presenter");
      if (presenter) {
        row.querySelector(".warn-absent").hidden =
          !recorded || !presenter.value || present[presenter.value] === true;
      }
      moment += minutes;
    });
  }

  // The cases still to discuss take the places they hold between them in the
  // new order; the cases already dealt with stay where they are.
  function arrange(order) {
    var queue = order.slice();
    var all = rows().map(function (row) {
      return row.classList.contains("agenda-line") ? queue.shift() : row;
    });
    all.forEach(function (row) {
      body.appendChild(row);
    });
    refresh();
  }

  function announce(row) {
    if (!live) {
      return;
    }
    live.textContent = live.getAttribute("data-moved")
      .replace("{case}", row.getAttribute("data-case"))
      .replace("{place}", String(rows().indexOf(row) + 1))
      .replace("{total}", String(rows().length))
      .replace("{time}", row.querySelector(".line-start").textContent);
  }

  function move(row, offset) {
    var order = movable();
    var index = order.indexOf(row);
    var other = index + offset;
    if (index < 0 || other < 0 || other >= order.length) {
      return false;
    }
    order.splice(index, 1);
    order.splice(other, 0, row);
    arrange(order);
    return true;
  }

  form.addEventListener("click", function (event) {
    var button = event.target.closest("button[name=move]");
    if (!button) {
      return;
    }
    event.preventDefault();
    var row = button.closest("tr");
    move(row, button.classList.contains("move-up") ? -1 : 1);
    // Focus stays on the button pressed, on the line it moved.
    button.focus();
    announce(row);
  });

  form.addEventListener("input", function (event) {
    if (event.target.matches(".line-minutes, .line-presenter")) {
      refresh();
    }
  });
  form.addEventListener("change", function (event) {
    if (event.target.matches(".line-presenter")) {
      refresh();
    }
  });

  // Drag and drop, by the handle of each line.
  rows().forEach(function (row) {
    var handle = row.querySelector(".drag-handle");
    if (handle) {
      handle.hidden = false;
    }
  });
  body.addEventListener("dragstart", function (event) {
    var handle = event.target.closest && event.target.closest(".drag-handle");
    if (!handle) {
      return;
    }
    dragged = handle.closest("tr");
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.getAttribute("data-item"));
    event.dataTransfer.setDragImage(dragged, 20, 20);
  });
  body.addEventListener("dragover", function (event) {
    if (!dragged) {
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    var target = event.target.closest && event.target.closest("tr.agenda-line");
    if (!target || target === dragged) {
      return;
    }
    var order = movable();
    var from = order.indexOf(dragged);
    var to = order.indexOf(target);
    var box = target.getBoundingClientRect();
    var middle = box.top + box.height / 2;
    // Past the middle of the line, in the direction of travel: no flicker
    // when lines of different heights change places.
    if ((from < to && event.clientY > middle) || (from > to && event.clientY < middle)) {
      order.splice(from, 1);
      order.splice(to, 0, dragged);
      arrange(order);
    }
  });
  body.addEventListener("drop", function (event) {
    if (dragged) {
      event.preventDefault();
    }
  });
  body.addEventListener("dragend", function () {
    if (!dragged) {
      return;
    }
    var row = dragged;
    dragged = null;
    row.classList.remove("dragging");
    announce(row);
  });
})();
