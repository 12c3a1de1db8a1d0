// The registration form's customer search (app/templates/workorder/add.html): asks
// /workorderview/customer_lookup as the operator types and fills the form from the chosen
// customer.  The phone field is left for the operator: a masked number is never typed in,
// and an empty phone is taken from the archive when the order is saved.
(function () {
  var box = document.getElementById("desk-lookup");
  if (!box) { return; }
  var input = document.getElementById("desk-q");
  var results = document.getElementById("desk-results");
  var message = document.getElementById("desk-message");
  var chosen = document.getElementById("desk-chosen");
  var content = document.querySelector('[name="content"]');
  var form = content ? content.form : null;
  var timer = null, asked = 0;

  function field(name) { return form ? form.querySelector('[name="' + name + '"]') : null; }

  function fill(customer) {
    var values = {customer_no: customer.customer_no, contact_name: customer.name, address: customer.address || ""};
    Object.keys(values).forEach(function (name) {
      var target = field(name);
      if (target) { target.value = values[name]; target.dispatchEvent(new Event("change", {bubbles: true})); }
    });
    var grid = field("grid");
    if (grid) {
      grid.value = String(customer.grid_id);
      grid.dispatchEvent(new Event("change", {bubbles: true}));
      if (window.jQuery) { window.jQuery(grid).trigger("change"); }
    }
    var phone = field("phone");
    if (phone && !phone.value) { phone.placeholder = (customer.phone || "") + " (" + message.dataset.phone + ")"; }
    chosen.textContent = message.dataset.chosen.replace("{name}", customer.name + " · " + customer.customer_no);
    results.innerHTML = "";
  }

  function show(list) {
    results.innerHTML = "";
    message.textContent = list.length ? "" : message.dataset.none;
    list.forEach(function (customer) {
      var item = document.createElement("button");
      item.type = "button";
      item.className = "list-group-item desk-hit";
      item.dataset.customer = customer.customer_no;
      item.textContent = customer.customer_no + " · " + customer.name + " · " + (customer.phone || "") +
        " · " + (customer.address || "") + " · " + customer.grid;
      item.addEventListener("click", function () { fill(customer); });
      results.appendChild(item);
    });
  }

  function ask() {
    var q = input.value.trim();
    if (q.length < 2) { results.innerHTML = ""; message.textContent = q ? message.dataset.short : ""; return; }
    var mine = ++asked;
    fetch(box.dataset.url + "?q=" + encodeURIComponent(q), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json().then(function (body) { return [response.ok, body]; }); })
      .then(function (answer) {
        if (mine !== asked) { return; }
        if (answer[0]) { show(answer[1].result); } else { results.innerHTML = ""; message.textContent = answer[1].message; }
      });
  }

  input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(ask, 250); });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {  // Enter searches; it never submits the registration
      event.preventDefault();
      clearTimeout(timer);
      ask();
    }
  });
})();
