/* GridCare mobile web app (issue 17): offline first.
   Data lives in IndexedDB (stores kv, orders, customers, outbox, conflicts). Every action goes
   into the outbox with an Idempotency-Key and is replayed in order when online (at start, on
   reconnect, after each action, on Background Sync); a refusal from the server (stale version,
   transferred, voided…) becomes a conflict shown to the user, never retried or dropped silently. */
"use strict";

const DB_NAME = "gridcare-m";
const MOBILE_ACTIONS = {
  accept: "接单", "return": "退单", resolve: "处理完成", suspend: "挂起", resume: "恢复",
  extend: "申请延期", callback: "回访",
};
const STATE = {registered: "已受理", dispatched: "已派单", accepted: "已接单", resolved: "已处理",
  verified: "已核实", evaluated: "已评价", voided: "已作废"};
const DEMAND = {consultation: "咨询", complaint: "投诉", report: "举报", suggestion: "建议", opinion: "意见",
  praise: "表扬", urgent: "故障报修", service: "服务申请"};
const CHANNELS = {city_call: "城市大脑来电", convenience_point: "便民服务点", love_supermarket: "电力爱心超市"};

// --- IndexedDB --------------------------------------------------------------------------------
let dbPromise = null;
function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => {
        const db = request.result;
        db.createObjectStore("kv");
        db.createObjectStore("orders", {keyPath: "id"});
        db.createObjectStore("customers", {keyPath: "id"});
        db.createObjectStore("outbox", {keyPath: "seq", autoIncrement: true});
        db.createObjectStore("conflicts", {keyPath: "seq", autoIncrement: true});
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return dbPromise;
}
function tx(store, mode, work) {
  return openDb().then((db) => new Promise((resolve, reject) => {
    const t = db.transaction(store, mode);
    let result;
    Promise.resolve(work(t.objectStore(store))).then((r) => { result = r; });
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  }));
}
function req(r) { return new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); }); }
const kvGet = (key) => tx("kv", "readonly", (s) => req(s.get(key)));
const kvSet = (key, value) => tx("kv", "readwrite", (s) => { s.put(value, key); });
const all = (store) => tx(store, "readonly", (s) => req(s.getAll()));
const getOne = (store, key) => tx(store, "readonly", (s) => req(s.get(key)));
const putAll = (store, rows) => tx(store, "readwrite", (s) => { rows.forEach((r) => s.put(r)); });
const remove = (store, key) => tx(store, "readwrite", (s) => { s.delete(key); });

function wipe() {
  return openDb().then((db) => { db.close(); dbPromise = null; }).then(() => new Promise((resolve) => {
    const r = indexedDB.deleteDatabase(DB_NAME);
    r.onsuccess = r.onerror = r.onblocked = () => resolve();
  }));
}

// --- the network --------------------------------------------------------------------------------
class Offline extends Error {}
async function api(method, url, {json, form, key} = {}) {
  const send = async () => {
    const headers = {"X-GridCare-Client": "mobile"};
    const token = await kvGet("access_token");
    if (token) headers.Authorization = "Bearer " + token;
    if (key) headers["Idempotency-Key"] = key;
    let body;
    if (json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
    if (form) body = form;
    try {
      return await fetch(url, {method, headers, body});
    } catch (error) {
      throw new Offline(String(error));
    }
  };
  let response = await send();
  if (response.status === 401 && await refresh()) response = await send();
  if (response.status === 401) { await kvSet("access_token", null); render(); }
  return response;
}
async function refresh() {
  const token = await kvGet("refresh_token");
  if (!token) return false;
  try {
    const r = await fetch("/api/v1/security/refresh", {method: "POST", headers: {Authorization: "Bearer " + token}});
    if (!r.ok) return false;
    await kvSet("access_token", (await r.json()).access_token);
    return true;
  } catch (error) {
    return false;
  }
}
function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// --- sync: prime the phone, replay the outbox ------------------------------------------------
let syncing = false, again = false;
async function sync() {
  if (syncing) { again = true; return; }  // an action queued mid-sync is sent right after it
  if (!(await kvGet("access_token"))) return;
  syncing = true;
  again = false;
  indicator();
  try {
    await flush();
    const cursor = await kvGet("cursor");
    const r = await api("GET", "/api/v1/mobile/sync" + (cursor ? "?cursor=" + encodeURIComponent(cursor) : ""));
    if (r.ok) {
      const data = (await r.json()).result;
      await putAll("orders", data.orders);
      await putAll("customers", data.customers);
      const open = new Set(data.open_order_ids);
      const stale = (await all("orders")).filter((o) => !open.has(o.id)).map((o) => o.id);
      await tx("orders", "readwrite", (s) => stale.forEach((id) => s.delete(id)));
      await kvSet("grids", data.grids);
      const notes = await api("GET", "/api/v1/notification/?unread=true");
      if (notes.ok) await kvSet("notifications", (await notes.json()).result.slice(0, 20));
      const places = await api("GET", "/api/v1/mobile/places");
      if (places.ok) await kvSet("places", (await places.json()).result);
      await kvSet("cursor", data.cursor);
      await kvSet("synced_at", new Date().toISOString());
    }
  } catch (error) {
    if (!(error instanceof Offline)) console.warn(error);
  } finally {
    syncing = false;
    await indicator();
    if (!view().dataset.dirty) render();  // never under the fingers of someone filling a form
    if (again) sync();
  }
}

async function enqueue(entry) {
  entry.key = uuid();
  entry.queued_at = new Date().toISOString();
  await tx("outbox", "readwrite", (s) => { s.add(entry); });
  if ("serviceWorker" in navigator && navigator.serviceWorker.ready) {
    navigator.serviceWorker.ready.then((reg) => reg.sync && reg.sync.register("outbox")).catch(() => {});
  }
  await indicator();
  sync();
}

// Replays the outbox in order; stops at the first entry the network could not deliver.
async function flush() {
  const entries = await all("outbox");
  entries.sort((a, b) => a.seq - b.seq);
  const blocked = new Set();  // orders whose earlier queued action was refused
  for (const entry of entries) {
    if (entry.order_id && blocked.has(entry.order_id)) {
      await conflict(entry, 409, "前一项操作冲突，本项未执行");
      await remove("outbox", entry.seq);
      continue;
    }
    let response;
    try {
      response = await send(entry);
    } catch (error) {
      if (error instanceof Offline) return;
      throw error;
    }
    if (response.status >= 500 || response.status === 401) return;  // try again later
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      if (body.result && body.result.timeline) await putAll("orders", [body.result]);
    } else {
      if (entry.order_id) blocked.add(entry.order_id);
      await conflict(entry, response.status, body.message || "");
    }
    await remove("outbox", entry.seq);
  }
}

async function send(entry) {
  if (entry.kind === "action") {
    const order = await getOne("orders", entry.order_id);
    // A second action on the same order queued offline follows the first: its version is the
    // one the first left (stored when it was applied), not the one seen when it was queued.
    const version = entry.follows && order ? order.version : entry.version;
    return api("POST", `/api/v1/workorder/${entry.order_id}/${entry.action}`,
               {json: {...entry.body, version}, key: entry.key});
  }
  if (entry.kind === "photo") {
    const form = new FormData();
    form.append("photos", entry.blob, entry.name);
    return api("POST", `/api/v1/mobile/orders/${entry.order_id}/photos`, {form, key: entry.key});
  }
  if (entry.kind === "visit") {
    return api("POST", `/api/v1/onsite/customers/${entry.customer_id}/visits`, {json: entry.body, key: entry.key});
  }
  if (entry.kind === "demand") return api("POST", "/api/v1/mobile/demands", {json: entry.body, key: entry.key});
  if (entry.kind === "record") {
    const form = new FormData();
    for (const [k, v] of Object.entries(entry.fields)) form.append(k, v);
    for (const photo of entry.photos) form.append("photos", photo.blob, photo.name);
    return api("POST", entry.path, {form, key: entry.key});
  }
  throw new Error("unknown outbox entry " + entry.kind);
}

// A refusal becomes a conflict the user reads: what was tried and what happened meanwhile.
async function conflict(entry, status, message) {
  let happened = "";
  if (entry.order_id) {
    try {
      const r = await api("GET", `/api/v1/workorder/${entry.order_id}`);
      if (r.ok) {
        const now = (await r.json()).result;
        const mine = await getOne("orders", entry.order_id);
        if (now.state === "voided") happened = "工单已作废";
        else if (mine && now.assignee !== mine.assignee) happened = `工单已转派给 ${now.assignee || "他人"}`;
        else happened = `工单已被他人更改（现为${STATE[now.state] || now.state}）`;
        await putAll("orders", [now]);
      } else if (r.status === 403) {
        happened = "工单已不在您的范围内（可能已转派）";
        await remove("orders", entry.order_id);
      }
    } catch (error) { /* offline again: keep the server's message */ }
  }
  await tx("conflicts", "readwrite", (s) => {
    s.add({label: entry.label, status, message, happened, at: new Date().toISOString()});
  });
}

async function indicator() {
  const el = document.getElementById("sync");
  const waiting = (await all("outbox")).length;
  const conflicts = (await all("conflicts")).length;
  el.className = "sync";
  if (conflicts) { el.textContent = `${conflicts} 项冲突`; el.classList.add("conflict"); }
  else if (!navigator.onLine) { el.textContent = `离线 · ${waiting} 项待同步`; el.classList.add("offline"); }
  else if (syncing) el.textContent = "同步中…";
  else el.textContent = waiting ? `${waiting} 项待同步` : "已同步";
  el.dataset.waiting = String(waiting);
}

// --- screens ------------------------------------------------------------------------------------
const current = {tab: "orders", id: null};
const view = () => document.getElementById("view");
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) el.append(child);
  return el;
}
function go(tab, id = null) { current.tab = tab; current.id = id; delete view().dataset.dirty; render(); }

function left(deadline) {
  if (!deadline) return {text: "无时限", cls: ""};
  const ms = new Date(deadline) - Date.now();
  const abs = Math.abs(ms), d = Math.floor(abs / 864e5), hh = Math.floor(abs % 864e5 / 36e5), mm = Math.floor(abs % 36e5 / 6e4);
  const span = (d ? `${d}天` : "") + `${hh}小时${d ? "" : mm + "分"}`;
  return ms < 0 ? {text: `已超时 ${span}`, cls: "late"} : {text: `剩余 ${span}`, cls: ms < 4 * 36e5 ? "soon" : ""};
}

async function render() {
  const token = await kvGet("access_token");
  const tabs = document.getElementById("tabs");
  if (!token) { tabs.hidden = true; return loginScreen(); }
  tabs.hidden = false;
  tabs.querySelectorAll("button").forEach((b) => b.classList.toggle("on", b.dataset.tab === current.tab));
  const screens = {orders: ordersScreen, order: orderScreen, customers: customersScreen, customer: customerScreen,
                   register: registerScreen, outbox: outboxScreen};
  const turn = ++renders;
  await (screens[current.tab] || ordersScreen)();
  // Conflicts stay on top of every screen until the user has read them.
  const conflicts = await all("conflicts");
  if (turn === renders) view().prepend(...conflicts.map(conflictCard));
}
let renders = 0;

function loginScreen() {
  const error = h("p", {class: "error", role: "alert"});
  const form = h("form", {class: "card", onsubmit: async (event) => {
    event.preventDefault();
    error.textContent = "";
    const data = new FormData(form);
    try {
      const r = await fetch("/api/v1/security/login", {method: "POST",
        headers: {"Content-Type": "application/json", "X-GridCare-Client": "mobile"},
        body: JSON.stringify({username: data.get("username"), password: data.get("password"), provider: "db", refresh: true})});
      const body = await r.json().catch(() => ({}));
      if (!r.ok) { error.textContent = r.status === 401 ? "用户名或密码错误" : (body.message || "登录失败"); return; }
      await kvSet("access_token", body.access_token);
      await kvSet("refresh_token", body.refresh_token || null);
      await kvSet("username", data.get("username"));
      go("orders");
      sync();
    } catch (e) {
      error.textContent = "无网络，暂不能登录";
    }
  }},
  h("h2", {}, "登录"),
  h("label", {for: "username"}, "用户名"), h("input", {id: "username", name: "username", autocomplete: "username", required: true}),
  h("label", {for: "password"}, "密码"), h("input", {id: "password", name: "password", type: "password", autocomplete: "current-password", required: true}),
  error, h("button", {class: "primary", type: "submit"}, "登录"));
  view().replaceChildren(form);
}

async function ordersScreen() {
  const orders = await all("orders");
  const waiting = new Set((await all("outbox")).map((e) => e.order_id).filter(Boolean));
  // Most urgent first: the nearest deadline (of the order or of its source platform).
  const due = (o) => Math.min(...[o.deadline, o.source_deadline].filter(Boolean).map((d) => new Date(d).getTime()), Infinity);
  orders.sort((a, b) => due(a) - due(b) || a.id - b.id);
  const items = orders.map((o) => {
    const own = left(o.deadline), source = o.source_deadline ? left(o.source_deadline) : null;
    return h("button", {class: "card order", type: "button", "data-order": o.number, onclick: () => go("order", o.id)},
      h("h3", {}, o.number, waiting.has(o.id) ? h("span", {class: "pending"}, "待同步") : null),
      h("div", {class: "meta"}, `${DEMAND[o.demand_type] || o.demand_type} · ${STATE[o.state] || o.state}${o.suspended ? " · 挂起" : ""} · ${o.address || ""}`),
      h("div", {}, h("span", {class: "due " + own.cls}, "办结 " + own.text),
        source ? h("span", {class: "due " + source.cls}, " · 来源 " + source.text) : null));
  });
  const notes = (await kvGet("notifications")) || [];
  view().replaceChildren(
    notes.length ? h("details", {class: "card", id: "notifications"}, h("summary", {}, `通知（${notes.length} 条未读）`),
      ...notes.map((n) => h("p", {}, n.order_id && orders.some((o) => o.id === n.order_id)
        ? h("button", {class: "link", type: "button", onclick: () => go("order", n.order_id)}, n.title) : n.title,
      h("span", {class: "meta"}, " " + new Date(n.created_at).toLocaleString("zh-CN"))))) : null,
    h("h2", {}, "我的工单"),
    ...(items.length ? items : [h("p", {class: "empty"}, "暂无待办工单")]));
}

function conflictCard(c) {
  return h("div", {class: "card conflict-card", role: "alert"},
    h("h3", {}, "冲突：" + c.label + " 未执行"),
    h("p", {}, c.happened || c.message),
    c.happened && c.message ? h("p", {class: "meta"}, "服务器：" + c.message) : null,
    h("button", {class: "link", type: "button", onclick: async () => { await remove("conflicts", c.seq); await indicator(); render(); }}, "知道了"));
}

async function orderScreen() {
  const o = await getOne("orders", current.id);
  if (!o) return go("orders");
  const customers = await all("customers");
  const customer = customers.find((c) => c.customer_no && c.customer_no === o.customer_no);
  const queued = (await all("outbox")).filter((e) => e.order_id === o.id);
  const allowed = (o.actions || []).filter((a) => a in MOBILE_ACTIONS);
  const form = h("div");
  view().replaceChildren(
    h("button", {class: "link", type: "button", onclick: () => go("orders")}, "‹ 返回"),
    h("div", {class: "card"},
      h("h2", {}, o.number),
      h("p", {class: "meta"}, `${DEMAND[o.demand_type] || o.demand_type} · ${STATE[o.state] || o.state} · 台区 ${o.grid || "—"}`),
      h("p", {}, o.content || ""),
      h("p", {}, h("span", {class: "due " + left(o.deadline).cls}, "办结 " + left(o.deadline).text)),
      queued.length ? h("p", {class: "pending"}, `${queued.length} 项操作待同步：` + queued.map((e) => e.label).join("、")) : null),
    h("div", {class: "card"}, h("h3", {}, "客户"),
      customer ? h("div", {}, h("p", {}, `${customer.name}（户号 ${customer.customer_no}）`),
        h("p", {class: "meta"}, `${customer.phone || ""} · ${customer.address}`),
        h("button", {class: "link", type: "button", onclick: () => go("customer", customer.id)}, "客户详情 ›"))
        : h("p", {}, `${o.contact_name || ""} ${o.phone || ""}`, h("br"), o.address || "")),
    h("div", {class: "card"}, h("h3", {}, "操作"),
      ...allowed.map((a) => h("button", {class: "action", type: "button", "data-action": a, onclick: () => actionForm(o, a, form, queued.length > 0)}, MOBILE_ACTIONS[a])),
      allowed.length ? null : h("p", {class: "meta"}, "当前无可执行操作"), form),
    h("div", {class: "card"}, h("h3", {}, "处理过程"),
      h("ul", {class: "timeline"}, ...(o.timeline || []).map((e) =>
        h("li", {}, h("div", {}, `${e.actor || ""} ${e.action}`), h("div", {class: "meta"}, `${new Date(e.at).toLocaleString("zh-CN")} ${e.note || ""}`))))));
}

function field(label, name, attrs = {}, prefix = "f-") {
  const id = prefix + name;
  const input = attrs.tag === "textarea" ? h("textarea", {id, name, ...attrs, tag: null}) : h("input", {id, name, ...attrs});
  return [h("label", {for: id}, label), input];
}

function actionForm(order, action, slot, follows) {
  const needs = {
    accept: [], resume: [],
    "return": [field("退单原因", "reason", {tag: "textarea", required: true})],
    suspend: [field("挂起原因", "reason", {tag: "textarea", required: true})],
    extend: [field("延期天数", "days", {type: "number", min: 1, max: 60, required: true}), field("延期原因", "reason", {tag: "textarea", required: true})],
    resolve: [field("处理结果", "resolution", {tag: "textarea", required: true}), field("现场照片", "photos", {type: "file", accept: "image/*", capture: "environment", multiple: true})],
    callback: [h("label", {}, h("input", {type: "checkbox", name: "satisfied", checked: true}), " 客户满意"), field("回访记录", "note", {tag: "textarea"})],
  }[action];
  const form = h("form", {onsubmit: async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {};
    for (const [k, v] of data.entries()) if (k !== "photos") body[k] = v;
    if (action === "extend") body.days = Number(body.days);
    if (action === "callback") body.satisfied = data.get("satisfied") === "on";
    const label = `${order.number} ${MOBILE_ACTIONS[action]}`;
    if (action === "resolve") {
      for (const file of data.getAll("photos").filter((f) => f && f.size)) {
        const blob = await compress(file);
        await enqueue({kind: "photo", order_id: order.id, blob, name: file.name.replace(/\.\w+$/, "") + ".jpg", label: `${order.number} 照片`});
      }
    }
    await enqueue({kind: "action", order_id: order.id, action, body, version: order.version, follows, label});
    go("order", order.id);
  }}, ...needs.flat(), h("button", {class: "primary", type: "submit"}, "确认" + MOBILE_ACTIONS[action]));
  slot.replaceChildren(form);
  if (!needs.length) form.requestSubmit();
}

// Photos are made smaller on the phone before they wait in the outbox (longest side 1600 px).
async function compress(file) {
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return await new Promise((resolve) => canvas.toBlob((b) => resolve(b || file), "image/jpeg", 0.8));
  } catch (error) {
    return file;
  }
}

async function customersScreen() {
  const customers = await all("customers");
  const list = h("div");
  const show = (q) => {
    q = (q || "").trim();
    const hits = customers.filter((c) => !q || c.customer_no.includes(q) || (c.phone || "").endsWith(q) ||
      c.name.includes(q) || c.address.includes(q)).slice(0, 50);
    list.replaceChildren(...hits.map((c) => h("button", {class: "card order", type: "button", onclick: () => go("customer", c.id)},
      h("h3", {}, c.name), h("div", {class: "meta"}, `户号 ${c.customer_no} · ${c.phone || ""}`), h("div", {class: "meta"}, c.address))));
    if (!hits.length) list.append(h("p", {class: "empty"}, "没有找到客户"));
  };
  view().replaceChildren(h("h2", {}, "客户"),
    h("input", {type: "search", placeholder: "户号、手机尾号、户名或地址", "aria-label": "搜索客户", oninput: (e) => show(e.target.value)}), list);
  show("");
}

async function customerScreen() {
  const c = await getOne("customers", current.id);
  if (!c) return go("customers");
  const form = h("form", {class: "card", onsubmit: async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    await enqueue({kind: "visit", customer_id: c.id, label: `走访 ${c.name}`, body: {
      note: data.get("note") || "", contact_confirmed: data.get("contact_confirmed") === "on",
      address_confirmed: data.get("address_confirmed") === "on"}});
    go("customer", c.id);
  }}, h("h3", {}, "登记走访"),
  h("label", {}, h("input", {type: "checkbox", name: "contact_confirmed", checked: true}), " 联系方式已核实"),
  h("label", {}, h("input", {type: "checkbox", name: "address_confirmed", checked: true}), " 地址已核实"),
  ...field("走访记录", "note", {tag: "textarea"}), h("button", {class: "primary", type: "submit"}, "保存走访"));
  view().replaceChildren(h("button", {class: "link", type: "button", onclick: () => go("customers")}, "‹ 返回"),
    h("div", {class: "card"}, h("h2", {}, c.name), h("p", {}, `户号 ${c.customer_no}`), h("p", {class: "meta"}, `${c.phone || ""} · 台区 ${c.grid}`), h("p", {}, c.address)),
    form);
}

async function registerScreen() {
  const grids = (await kvGet("grids")) || [];
  const places = (await kvGet("places")) || [];
  const place = h("select", {id: "f-place_id", name: "place_id"});
  const gridBox = h("div", {}, h("label", {for: "f-grid"}, "台区"),
    h("select", {id: "f-grid", name: "grid"}, ...grids.map((g) => h("option", {value: g.code}, `${g.code} ${g.name}`))));
  const placeBox = h("div", {hidden: true}, h("label", {for: "f-place_id"}, "服务点 / 爱心超市"), place);
  const channelChanged = (channel) => {
    gridBox.hidden = channel !== "city_call";
    placeBox.hidden = channel === "city_call";
    gridBox.querySelector("select").disabled = gridBox.hidden;
    place.disabled = placeBox.hidden;
    const mine = places.filter((p) => p.kind === channel);
    place.replaceChildren(...mine.map((p) => h("option", {value: p.id}, p.name)));
    if (!placeBox.hidden && !mine.length) place.append(h("option", {value: ""}, channel === "convenience_point" ? "今日无值班服务点" : "您的台区没有爱心超市"));
  };
  const form = h("form", {class: "card", onsubmit: async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {};
    for (const [k, v] of data.entries()) if (v !== "") body[k] = v;
    if (body.place_id) body.place_id = Number(body.place_id);
    Object.assign(body, await position());
    await enqueue({kind: "demand", body, label: `登记诉求（${DEMAND[body.demand_type] || ""}）`});
    current.tab = "orders";
    render();
  }}, h("h2", {}, "登记现场诉求"),
  h("label", {for: "f-channel"}, "来源"),
  h("select", {id: "f-channel", name: "channel", onchange: (e) => channelChanged(e.target.value)},
    ...Object.entries(CHANNELS).map(([v, t]) => h("option", {value: v}, t))),
  h("label", {for: "f-demand_type"}, "诉求类型"),
  h("select", {id: "f-demand_type", name: "demand_type"}, ...Object.entries(DEMAND).filter(([v]) => v !== "service").map(([v, t]) => h("option", {value: v}, t))),
  gridBox, placeBox,
  ...field("诉求内容", "content", {tag: "textarea", required: true}),
  ...field("联系人", "contact_name"), ...field("联系电话", "phone", {type: "tel"}),
  ...field("户号", "customer_no", {inputmode: "numeric"}), ...field("地址", "address"),
  h("button", {class: "primary", type: "submit"}, "登记"));
  view().replaceChildren(form, ...recordForms(grids));
  channelChanged("city_call");
}

// On-site records with photos, queued like everything else (multipart to the on-site API).
function recordForms(grids) {
  const gridSelect = (prefix) => [h("label", {for: prefix + "grid_id"}, "台区"),
    h("select", {id: prefix + "grid_id", name: "grid_id"}, ...grids.map((g) => h("option", {value: g.id}, `${g.code} ${g.name}`)))];
  const kinds = [
    {prefix: "s-", title: "安全检查记录", path: "/api/v1/onsite/safety-records", fields: [
      ...field("检查地点", "site", {required: true}, "s-"), ...field("发现的隐患", "hazards", {tag: "textarea", required: true}, "s-"),
      h("label", {}, h("input", {type: "checkbox", name: "rectification_required", value: "true"}), " 需要整改"),
      ...field("整改期限", "deadline", {type: "date"}, "s-")]},
    {prefix: "a-", title: "箱表关系异常", path: "/api/v1/onsite/anomalies", fields: [
      ...field("表箱编号", "meter_box_no", {required: true}, "a-"), ...field("电表资产号", "meter_no", {required: true}, "a-"),
      ...field("档案中的表箱", "expected", {required: true}, "a-"), ...field("现场实际表箱", "found", {required: true}, "a-")]},
    {prefix: "e-", title: "设备采集", path: "/api/v1/onsite/equipment", fields: [
      ...field("设备类型", "equipment_type", {required: true}, "e-"), ...field("型号", "model", {}, "e-"),
      ...field("出厂编号", "serial_no", {}, "e-"), ...field("安装位置", "location", {required: true}, "e-")]},
  ];
  return kinds.map((kind) => {
    const form = h("form", {onsubmit: async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const fields = {};
      for (const [k, v] of data.entries()) if (k !== "photos" && v !== "") fields[k] = v;
      const photos = [];
      for (const file of data.getAll("photos").filter((f) => f && f.size)) {
        photos.push({blob: await compress(file), name: file.name.replace(/\.\w+$/, "") + ".jpg"});
      }
      await enqueue({kind: "record", path: kind.path, fields, photos, label: kind.title});
      go("outbox");
    }}, ...gridSelect(kind.prefix), ...kind.fields,
    ...field("照片", "photos", {type: "file", accept: "image/*", capture: "environment", multiple: true}, kind.prefix),
    h("button", {class: "primary", type: "submit"}, "保存" + kind.title));
    return h("details", {class: "card", "data-record": kind.path}, h("summary", {}, kind.title), form);
  });
}

// The phone's position when it allows reading it (GPS works without network); never waits long.
function position() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) return resolve({});
    const timer = setTimeout(() => resolve({}), 5000);
    navigator.geolocation.getCurrentPosition((p) => {
      clearTimeout(timer);
      resolve({latitude: p.coords.latitude, longitude: p.coords.longitude, accuracy_m: Math.round(p.coords.accuracy)});
    }, () => { clearTimeout(timer); resolve({}); }, {enableHighAccuracy: true, timeout: 4000, maximumAge: 60000});
  });
}

async function outboxScreen() {
  const entries = await all("outbox");
  const syncedAt = await kvGet("synced_at");
  view().replaceChildren(
    h("h2", {}, "同步"),
    h("p", {class: "meta"}, (navigator.onLine ? "在线" : "离线") + (syncedAt ? ` · 上次同步 ${new Date(syncedAt).toLocaleString("zh-CN")}` : "")),
    h("h3", {}, `待同步（${entries.length}）`),
    h("ol", {id: "outbox"}, ...entries.map((e) => h("li", {"data-kind": e.kind}, e.label))),
    h("button", {class: "primary", type: "button", onclick: () => sync()}, "立即同步"),
    h("button", {class: "secondary", type: "button", onclick: logout}, "退出登录"));
}

async function logout() {
  try { await api("POST", "/api/v1/session/logout"); } catch (error) { /* offline: the token expires */ }
  await wipe();  // logout clears every local record, the outbox included
  current.tab = "orders";
  render();
  indicator();
}

// --- start --------------------------------------------------------------------------------------
view().addEventListener("input", () => { view().dataset.dirty = "1"; });
// Opening a record form is starting to fill it: a sync that ends meanwhile must not close it.
view().addEventListener("toggle", (event) => { if (event.target.open) view().dataset.dirty = "1"; }, true);
document.getElementById("tabs").addEventListener("click", (event) => {
  const tab = event.target.closest("button[data-tab]");
  if (tab) go(tab.dataset.tab);
});
window.addEventListener("online", () => { indicator(); sync(); });
window.addEventListener("offline", () => indicator());
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/m/sw.js", {scope: "/m/"}).catch((e) => console.warn("service worker", e));
  navigator.serviceWorker.addEventListener("message", (event) => { if (event.data && event.data.type === "flush") sync(); });
}
render().then(indicator).then(sync);
setInterval(() => { if (navigator.onLine) sync(); }, 60000);
