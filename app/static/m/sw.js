/* GridCare mobile service worker: the app shell from the cache (so /m/ opens with no network);
   API calls go to the network untouched (the app keeps its data in IndexedDB). */
const SHELL = "gridcare-m-v1";
const FILES = ["/m/", "/m/app.js", "/m/app.css", "/m/manifest.webmanifest", "/m/icon-192.png", "/m/icon-512.png"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith("gridcare-m-") && n !== SHELL).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || !url.pathname.startsWith("/m/")) return;
  const key = event.request.mode === "navigate" ? "/m/" : url.pathname;
  // Cache first, refreshed in the background: the shell opens at once, online or not.
  event.respondWith(caches.open(SHELL).then((cache) => cache.match(key).then((cached) => {
    const fresh = fetch(event.request).then((response) => {
      if (response.ok) cache.put(key, response.clone());
      return response;
    }).catch(() => cached);
    if (cached) { event.waitUntil(fresh); return cached; }
    return fresh;
  })));
});

// Background Sync (where the browser has it): ask the open app to replay its outbox.
self.addEventListener("sync", (event) => {
  if (event.tag !== "outbox") return;
  event.waitUntil(self.clients.matchAll({type: "window"}).then((clients) => {
    clients.forEach((client) => client.postMessage({type: "flush"}));
  }));
});
