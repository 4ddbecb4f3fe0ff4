// The desk's offline shell: keeps the desk page, its scripts and its stylesheet, so that the page still opens
// (and its queued scans are still sent later) when the tab is reloaded while the server cannot be reached.
// Served from /desk/sw.js, so its scope is the desk. The API is never cached: a scan goes to the server or,
// when it cannot, to the page's own queue.

const CACHE = 'cme-desk-v1';
const NETWORK_TIMEOUT_MS = 4000;
const PAGE = new URL('./', self.location).href;
const ASSETS = [
  'desk/desk.js',
  'desk/api.js',
  'desk/camera.js',
  'desk/counts.js',
  'desk/offline-queue.js',
  'desk/scan-input.js',
  'desk/setup.js',
  'desk/sound.js',
  'desk/undo-dialog.js',
  'desk/views.js',
  'desk/walk-in.js',
  'css/site.css',
  'img/seal.svg',
].map((path) => new URL(`../static/${path}`, self.location).href);
const SHELL = new Set([PAGE, ...ASSETS]);

async function cachePage(cache) {
  // Only the real page: a redirect to the login form must never stand in for the desk.
  const response = await fetch(PAGE, { credentials: 'same-origin', cache: 'no-store' });
  if (response.ok && !response.redirected) {
    await cache.put(PAGE, response);
  }
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(ASSETS);
      await cachePage(cache);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name !== CACHE) {
          await caches.delete(name);
        }
      }
      await self.clients.claim();
    })(),
  );
});

function withTimeout(promise) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('network timeout')), NETWORK_TIMEOUT_MS);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Network first, so an online desk always runs the current page and code; the cache when the network fails. */
async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  const fromNetwork = fetch(request).then(async (response) => {
    if (response.ok && !response.redirected && response.type === 'basic') {
      await cache.put(key, response.clone());
    }
    return response;
  });
  try {
    return await withTimeout(fromNetwork);
  } catch (error) {
    const cached = await cache.match(key, { ignoreVary: true });
    if (cached) {
      return cached;
    }
    throw error;
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') {
    return;
  }
  const url = new URL(request.url);
  url.hash = '';
  if (request.mode === 'navigate' && url.origin === self.location.origin && url.pathname === new URL(PAGE).pathname) {
    event.respondWith(networkFirst(request, PAGE));
    return;
  }
  url.search = '';
  if (SHELL.has(url.href)) {
    event.respondWith(networkFirst(request, url.href));
  }
});
