// The order page (app/templates/workorder/show.html): destructive actions ask first, the page
// comes back where the reader was after an action, evaluation presets fill the three scales,
// and the arrival form takes the phone's position when the browser gives it.
(function () {
  var header = document.getElementById("order-header");
  if (!header) { return; }
  var key = "gridcare-order-scroll-" + header.dataset.order;

  // Back where the reader was: the position is kept for this order only, once.
  var kept = window.sessionStorage.getItem(key);
  if (kept !== null) {
    window.sessionStorage.removeItem(key);
    window.scrollTo(0, parseInt(kept, 10) || 0);
  }

  document.querySelectorAll("form.gc-action").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        return;
      }
      window.sessionStorage.setItem(key, String(Math.round(window.scrollY)));
    });
  });

  // One action box open at a time.
  var boxes = document.querySelectorAll("details.gc-action-box");
  boxes.forEach(function (box) {
    box.addEventListener("toggle", function () {
      if (!box.open) { return; }
      boxes.forEach(function (other) { if (other !== box) { other.open = false; } });
      var first = box.querySelector("input:not([type=hidden]):not([type=range]), select");
      if (first) { first.focus({preventScroll: true}); }
    });
  });

  // Evaluation: the range and the number of each scale move together; presets set all three.
  document.querySelectorAll("form.gc-action[data-action=evaluate]").forEach(function (form) {
    function set(name, value) {
      var number = form.querySelector('input[name="' + name + '"]');
      var range = form.querySelector('input.gc-scale[data-for="' + name + '"]');
      if (number) { number.value = value; }
      if (range) { range.value = value; range.classList.remove("gc-untouched"); }
    }
    form.querySelectorAll("input.gc-scale").forEach(function (range) {
      range.addEventListener("input", function () { set(range.dataset.for, range.value); });
    });
    form.querySelectorAll("input.gc-scale-value").forEach(function (number) {
      number.addEventListener("input", function () { set(number.name, number.value); });
    });
    form.querySelectorAll("button.gc-preset").forEach(function (button) {
      button.addEventListener("click", function () {
        ["timeliness", "quality", "attitude"].forEach(function (name) { set(name, button.dataset.value); });
      });
    });
  });

  var arrive = document.querySelector('form.gc-action[data-action="arrive"]');
  if (arrive && navigator.geolocation) {
    navigator.geolocation.getCurrentPosition(function (pos) {
      var lat = arrive.querySelector('[name="latitude"]'), lon = arrive.querySelector('[name="longitude"]');
      if (!lat.value && !lon.value) {
        lat.value = pos.coords.latitude.toFixed(6);
        lon.value = pos.coords.longitude.toFixed(6);
      }
    }, function () {}, {enableHighAccuracy: true, timeout: 10000});
  }
})();
