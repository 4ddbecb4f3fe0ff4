// Scans taken while the server cannot be reached, kept in IndexedDB so that a reload or a crash loses none,
// and sent oldest first when it is back. Each scan keeps the nonce it was given when it was taken, so a send
// that reached the server but whose answer was lost is recognised there and never counted twice.

import { Refused, Unreachable } from './api.js';

const DB_NAME = 'cme-desk';
const DB_VERSION = 1;
const PENDING = 'pending';
const FAILED = 'failed';
const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 10000;

function settle(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function finished(transaction) {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error || new Error('transaction aborted'));
  });
}

function openDatabase() {
  const request = indexedDB.open(DB_NAME, DB_VERSION);
  request.onupgradeneeded = () => {
    const db = request.result;
    // Auto-increment keys keep the order the scans were taken in: the cursor walks them oldest first.
    db.createObjectStore(PENDING, { keyPath: 'id', autoIncrement: true }).createIndex('nonce', 'nonce', { unique: true });
    db.createObjectStore(FAILED, { keyPath: 'id', autoIncrement: true });
  };
  return settle(request);
}

/** The persistent queue: pending scans, and the ones the server refused (kept until the desk dismisses them). */
export async function openQueue() {
  const db = await openDatabase();

  async function write(stores, work) {
    // "strict": the scan is on disk before the desk is told it is kept.
    const transaction = db.transaction(stores, 'readwrite', { durability: 'strict' });
    work(transaction);
    await finished(transaction);
  }

  return {
    async add(scan) {
      await write([PENDING], (t) => t.objectStore(PENDING).add({ nonce: scan.nonce, scan, queuedAt: new Date().toISOString() }));
    },
    async oldest() {
      const cursor = await settle(db.transaction(PENDING).objectStore(PENDING).openCursor());
      return cursor ? cursor.value : null;
    },
    count: () => settle(db.transaction(PENDING).objectStore(PENDING).count()),
    async remove(item) {
      await write([PENDING], (t) => t.objectStore(PENDING).delete(item.id));
    },
    /** Moves a refused scan to the failed list in one transaction, so it is never in both or in neither. */
    async fail(item, refusal) {
      await write([PENDING, FAILED], (t) => {
        t.objectStore(PENDING).delete(item.id);
        t.objectStore(FAILED).add({
          nonce: item.nonce,
          scan: item.scan,
          status: refusal.status,
          code: refusal.code,
          message: refusal.message,
          failedAt: new Date().toISOString(),
        });
      });
    },
    failures: () => settle(db.transaction(FAILED).objectStore(FAILED).getAll()),
    async dismiss(id) {
      await write([FAILED], (t) => t.objectStore(FAILED).delete(id));
    },
  };
}

/**
 * Sends the queue oldest first. A refusal (4xx) is final and moves the scan to the failed list; no answer
 * (network error, timeout, 5xx) stops the round and retries later, waiting twice as long each time. A refusal
 * about the session (expired login or page) stops too: the scans wait for the desk to log in again.
 */
export function createSyncer({ queue, send, onSent, onFailed, onUnreachable, onSessionProblem, onIdle }) {
  let running = false;
  let again = false;
  let delay = FIRST_RETRY_MS;
  let timer = null;

  function later() {
    clearTimeout(timer);
    timer = setTimeout(run, delay);
    delay = Math.min(delay * 2, LAST_RETRY_MS);
  }

  async function round() {
    for (;;) {
      const item = await queue.oldest();
      if (!item) {
        delay = FIRST_RETRY_MS;
        onIdle();
        return 'idle';
      }
      try {
        const answer = await send(item.scan);
        await queue.remove(item);
        delay = FIRST_RETRY_MS;
        onSent(item, answer);
      } catch (error) {
        if (error instanceof Unreachable) {
          onUnreachable(error);
          later();
          return 'waiting';
        }
        if (error instanceof Refused && error.isSessionProblem) {
          onSessionProblem(error);
          return 'stopped';
        }
        if (!(error instanceof Refused)) {
          throw error;
        }
        await queue.fail(item, error);
        onFailed(item, error);
      }
    }
  }

  async function run() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    clearTimeout(timer);
    try {
      let outcome;
      do {
        again = false;
        outcome = await round();
      } while (again && outcome === 'idle');
    } finally {
      running = false;
    }
  }

  /** Sends now (the server is back, or a scan was queued while it seemed up); a round in progress goes on. */
  return { run };
}
