// The work-order list: select all rows, confirm a bulk dispatch, and leave empty filter
// fields out of the URL (the server also drops them).
(function () {
  var all = document.getElementById("order-select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input.order-select").forEach(function (box) { box.checked = all.checked; });
    });
  }
  var actions = document.getElementById("order-actions");
  if (actions) {
    actions.addEventListener("submit", function (event) {
      if (!document.querySelector("input.order-select:checked") || !window.confirm(actions.dataset.confirm)) {
        event.preventDefault();
      }
    });
  }
  var filters = document.getElementById("order-filters");
  if (filters) {
    filters.addEventListener("submit", function () {
      filters.querySelectorAll("input[name^=_flt_], select[name^=_flt_]").forEach(function (field) {
        if (!field.value) { field.disabled = true; }
      });
    });
  }
})();
