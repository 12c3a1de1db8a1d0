/* GridCare rule editor: builds business-rules JSON from drop-downs generated from
   export_rule_data (variables, the operators of each variable type, action parameters).
   No dependencies; the JSON goes into the form's hidden "rules_json" field on submit and
   the server validates it again. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("rule-data").textContent);
  var L = JSON.parse(document.getElementById("rule-labels").textContent);
  var hidden = document.getElementById("rules-json");
  var root = document.getElementById("rule-editor");
  var preview = document.getElementById("rules-preview");
  var variables = {};
  data.variables.forEach(function (v) { variables[v.name] = v; });
  var actions = {};
  data.actions.forEach(function (a) { actions[a.name] = a; });
  var rules;
  try { rules = JSON.parse(hidden.value || "[]"); } catch (e) { rules = []; }
  if (!Array.isArray(rules)) { rules = []; }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }
  function optionName(o) { return (o && typeof o === "object") ? o.name : o; }
  function optionLabel(o) { return (o && typeof o === "object") ? (o.label || o.name) : o; }
  function select(choices, current, onchange, multiple) {
    var s = el("select", {"class": "form-control input-sm"});
    if (multiple) { s.multiple = true; s.size = Math.min(6, Math.max(2, choices.length)); }
    else { s.appendChild(el("option", {value: "", text: L.choose})); }
    choices.forEach(function (c) {
      var o = el("option", {value: optionName(c), text: optionLabel(c)});
      if (multiple ? (current || []).indexOf(optionName(c)) >= 0 : optionName(c) === current) { o.selected = true; }
      s.appendChild(o);
    });
    s.addEventListener("change", function () {
      onchange(multiple ? Array.prototype.filter.call(s.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; }) : s.value);
    });
    return s;
  }
  function button(label, onclick, cls) {
    var b = el("button", {type: "button", "class": "btn btn-xs " + (cls || "btn-default"), text: label});
    b.addEventListener("click", onclick);
    return b;
  }
  function valueInput(inputType, options, current, onchange) {
    if (inputType === "none") { return null; }
    if (inputType === "select" && options && options.length) { return select(options, current, onchange); }
    if (inputType === "select_multiple") {
      if (options && options.length) { return select(options, current, onchange, true); }
      var t = el("input", {"class": "form-control input-sm", value: (current || []).join(",")});
      t.addEventListener("input", function () { onchange(t.value.split(",").map(function (x) { return x.trim(); }).filter(Boolean)); });
      return t;
    }
    var input = el("input", {"class": "form-control input-sm", type: inputType === "numeric" ? "number" : "text",
                             step: "any", value: current === undefined || current === null ? "" : current});
    input.addEventListener("input", function () {
      onchange(inputType === "numeric" ? (input.value === "" ? null : Number(input.value)) : input.value);
    });
    return input;
  }

  function conditionRow(cond, parentList, index) {
    var row = el("div", {"class": "form-inline rule-condition", style: "margin:3px 0"});
    var variable = variables[cond.name];
    row.appendChild(select(data.variables.map(function (v) { return {name: v.name, label: v.label}; }), cond.name,
      function (name) { cond.name = name; cond.operator = ""; cond.value = null; render(); }));
    if (variable) {
      var ops = data.variable_type_operators[variable.field_type] || [];
      row.appendChild(select(ops.map(function (o) { return {name: o.name, label: o.label}; }), cond.operator,
        function (op) { cond.operator = op; cond.value = null; render(); }));
      var op = ops.filter(function (o) { return o.name === cond.operator; })[0];
      if (op) {
        var input = valueInput(op.input_type, variable.options, cond.value, function (v) { cond.value = v; sync(); });
        if (input) { row.appendChild(input); }
      }
    }
    row.appendChild(button(L.remove, function () { parentList.splice(index, 1); render(); }, "btn-link"));
    return row;
  }

  function groupBox(group, onRemove) {
    var kind = group.all ? "all" : "any";
    var list = group[kind];
    var box = el("div", {"class": "rule-group", style: "border-left:3px solid #ccc;padding-left:8px;margin:4px 0"});
    var head = el("div", {"class": "form-inline"});
    head.appendChild(select([{name: "all", label: L.all}, {name: "any", label: L.any}], kind, function (k) {
      if (k && k !== kind) { group[k] = list; delete group[kind]; render(); }
    }));
    head.appendChild(button(L.condition, function () { list.push({name: "", operator: "", value: null}); render(); }));
    head.appendChild(button(L.group, function () { list.push({all: []}); render(); }));
    if (onRemove) { head.appendChild(button(L.remove, onRemove, "btn-link")); }
    box.appendChild(head);
    list.forEach(function (child, i) {
      if (child.all || child.any) {
        box.appendChild(groupBox(child, function () { list.splice(i, 1); render(); }));
      } else {
        box.appendChild(conditionRow(child, list, i));
      }
    });
    return box;
  }

  function actionRow(action, list, index) {
    var row = el("div", {"class": "form-inline rule-action", style: "margin:3px 0"});
    row.appendChild(select(data.actions.map(function (a) { return {name: a.name, label: a.label}; }), action.name,
      function (name) { action.name = name; action.params = {}; render(); }));
    var spec = actions[action.name];
    (spec ? spec.params || [] : []).forEach(function (p) {
      action.params = action.params || {};
      row.appendChild(el("label", {text: " " + p.label + " ", style: "margin:0 4px"}));
      row.appendChild(valueInput(p.fieldType, p.options, action.params[p.name],
        function (v) { action.params[p.name] = v; sync(); }));
    });
    row.appendChild(button(L.remove, function () { list.splice(index, 1); render(); }, "btn-link"));
    return row;
  }

  function ruleBox(rule, index) {
    if (!rule.conditions || !(rule.conditions.all || rule.conditions.any)) {
      rule.conditions = {all: rule.conditions && rule.conditions.name ? [rule.conditions] : []};
    }
    rule.actions = rule.actions || [];
    var panel = el("div", {"class": "panel panel-default rule", "data-index": index});
    var head = el("div", {"class": "panel-heading form-inline"});
    var name = el("input", {"class": "form-control input-sm rule-name", placeholder: L.name, value: rule.name || ""});
    name.addEventListener("input", function () { rule.name = name.value; sync(); });
    var stop = el("input", {type: "checkbox"});
    stop.checked = !!rule.stop;
    stop.addEventListener("change", function () { if (stop.checked) { rule.stop = true; } else { delete rule.stop; } sync(); });
    head.appendChild(el("strong", {text: L.rule + " " + (index + 1) + " "}));
    head.appendChild(name);
    head.appendChild(el("label", {"class": "checkbox-inline", style: "margin-left:10px"}, [stop, document.createTextNode(" " + L.stop)]));
    head.appendChild(button(L.remove, function () { rules.splice(index, 1); render(); }, "btn-link"));
    var body = el("div", {"class": "panel-body"});
    body.appendChild(el("strong", {text: L["if"]}));
    body.appendChild(groupBox(rule.conditions, null));
    body.appendChild(el("strong", {text: L.then}));
    rule.actions.forEach(function (a, i) { body.appendChild(actionRow(a, rule.actions, i)); });
    body.appendChild(button(L.action, function () { rule.actions.push({name: "", params: {}}); render(); }));
    panel.appendChild(head);
    panel.appendChild(body);
    return panel;
  }

  function clean(node) {
    if (node.all || node.any) {
      var kind = node.all ? "all" : "any";
      var out = {};
      out[kind] = node[kind].map(clean);
      return out;
    }
    var c = {name: node.name, operator: node.operator};
    c.value = node.value === undefined ? null : node.value;
    return c;
  }
  function sync() {
    var out = rules.map(function (r) {
      var rule = {name: r.name || "", conditions: clean(r.conditions),
                  actions: r.actions.map(function (a) { return {name: a.name, params: a.params || {}}; })};
      if (r.stop) { rule.stop = true; }
      return rule;
    });
    hidden.value = JSON.stringify(out);
    if (preview) { preview.textContent = JSON.stringify(out, null, 2); }
  }
  function render() {
    root.innerHTML = "";
    rules.forEach(function (r, i) { root.appendChild(ruleBox(r, i)); });
    sync();
  }
  document.getElementById("add-rule").addEventListener("click", function () {
    rules.push({name: "", conditions: {all: [{name: "", operator: "", value: null}]}, actions: [{name: "", params: {}}]});
    render();
  });
  document.getElementById("rule-form").addEventListener("submit", sync);

  // Dry run of the draft without leaving the editor: the draft goes as JSON, the samples'
  // resulting priority, assignee and points come back and are shown under the editor.
  var panel = document.getElementById("draft-dry-run");
  var out = document.getElementById("draft-dry-run-result");
  function cell(tag, text) { return el(tag, {text: text === null || text === undefined ? "" : String(text)}); }
  function showRows(rows) {
    out.innerHTML = "";
    if (!rows.length) { out.appendChild(el("p", {"class": "text-muted", text: L.none})); return; }
    var table = el("table", {"class": "table table-condensed", id: "draft-dry-run-table"});
    table.appendChild(el("thead", {}, [el("tr", {}, [cell("th", L.subject), cell("th", L.priority),
      cell("th", L.assignee), cell("th", L.points), cell("th", L.effects)])]));
    var body = el("tbody");
    rows.forEach(function (row) {
      var lines = el("ul", {"class": "list-unstyled"});
      row.lines.forEach(function (line) { lines.appendChild(cell("li", line)); });
      var tr = el("tr", {"class": "draft-dry-run-row"}, [cell("td", row.subject), cell("td", row.priority),
        cell("td", row.assignee), cell("td", row.points === null ? "—" : row.points)]);
      tr.appendChild(el("td", {}, [lines]));
      body.appendChild(tr);
    });
    table.appendChild(body);
    out.appendChild(table);
  }
  document.getElementById("draft-dry-run-button").addEventListener("click", function () {
    sync();
    var form = document.getElementById("rule-form");
    out.innerHTML = "";
    out.appendChild(el("p", {"class": "text-muted", text: L.running}));
    fetch(panel.getAttribute("data-url"), {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": form.elements.csrf_token.value},
      body: JSON.stringify({domain: form.elements.domain.value, rules: JSON.parse(hidden.value || "[]"),
                            last_n: parseInt(document.getElementById("draft-dry-run-last").value, 10) || 20,
                            subjects: document.getElementById("draft-dry-run-subjects").value})
    }).then(function (response) {
      return response.json().then(function (body) { return {ok: response.ok, body: body}; });
    }).then(function (answer) {
      if (answer.ok) { showRows(answer.body.rows); return; }
      out.innerHTML = "";
      out.appendChild(el("div", {"class": "alert alert-danger", id: "draft-dry-run-error",
                                 text: L.failed + " " + (answer.body.message || "")}));
    }).catch(function (error) {
      out.innerHTML = "";
      out.appendChild(el("div", {"class": "alert alert-danger", id: "draft-dry-run-error", text: L.failed + " " + error}));
    });
  });
  render();
}());
