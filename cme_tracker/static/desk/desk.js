// The attendance desk: wires the scan input, the API, the offline queue and the views together.
// Every scan gets its nonce and scan time the moment it is taken, online or not, so that sending it again
// (after a timeout, or from the offline queue) can never record it twice, and credits use the real time.

import { Refused, Unreachable, createClient } from './api.js';
import { cameraSupported, startCamera } from './camera.js';
import { createCounts } from './counts.js';
import { createSyncer, openQueue } from './offline-queue.js';
import { classify, createScanInput } from './scan-input.js';
import { createSetup } from './setup.js';
import { beep } from './sound.js';
import { createUndoDialog } from './undo-dialog.js';
import { createRecentList, createResultView, renderFailures } from './views.js';
import { createWalkInForm } from './walk-in.js';

const root = document.getElementById('desk');
const config = JSON.parse(root.dataset.config);
const byId = (id) => document.getElementById(id);
const RECENT_LIMIT = 30;

// --- phrases and times --------------------------------------------------------------------------------

const hasPhrase = (key) => Object.hasOwn(config.phrases, key);

function text(key, values = {}) {
  const phrase = hasPhrase(key) ? config.phrases[key] : key;
  return phrase.replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ''));
}

const locale = config.lang === 'ja' ? 'ja-JP' : 'en-GB';

/** HH:MM in the symposium's zone: a Berlin desk on a Tokyo laptop still shows Berlin times. */
function clock(iso, timezone) {
  if (!iso) {
    return '';
  }
  if (!/(Z|[+-]\d\d:\d\d)$/.test(iso)) {
    return iso.slice(11, 16); // a correction's wall-clock time, already in the symposium's zone
  }
  const format = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: timezone };
  return new Intl.DateTimeFormat(locale, format).format(new Date(iso));
}

// --- the pieces of the page ---------------------------------------------------------------------------

const client = createClient({ base: config.api, walkIns: config.walkIns, csrfToken: config.csrfToken });
const result = createResultView(byId('desk-result'));
const input = byId('desk-input');
const setup = createSetup({
  root,
  symposia: config.symposia,
  operator: config.operator,
  wholeDay: text('whole_day'),
  lectureLabel: (lecture) => `${lecture.starts}–${lecture.ends} ${lecture.title} (${lecture.code})`,
  onChange: () => {
    counts.soon();
    input.focus();
  },
});
const recent = createRecentList({
  list: byId('desk-recent'),
  empty: byId('desk-recent-empty'),
  limit: RECENT_LIMIT,
  undoLabel: text('undo'),
  onUndo: (entry) => undoDialog.open(entry),
});
const entriesByNonce = new Map();
const connection = {
  box: byId('desk-connection'),
  label: byId('desk-connection-text'),
  waiting: byId('desk-waiting'),
  banner: byId('desk-offline'),
  bannerCount: byId('desk-offline-waiting'),
};
let online = true;
let queue = null;
let syncer = null;

function timezoneOf(scan) {
  return setup.symposiumByCode(scan.symposium_code)?.timezone;
}

// --- answers ------------------------------------------------------------------------------------------

function sound(tone) {
  if (setup.soundOn()) {
    beep(tone);
  }
}

function memberLines(member) {
  if (!member) {
    return {};
  }
  const profession = member.profession_label || config.professions[member.profession] || member.profession;
  const meta = [text('member_no', { member_no: member.member_no }), profession];
  if (member.needs_review) {
    meta.push(text('needs_review'));
  }
  return { name: member.name, romaji: member.name_romaji, meta: meta.join(' · ') };
}

/** The answer to a scan the server accepted (201) or recognised (200). */
function accepted(data, timezone) {
  const attendance = data.attendance || {};
  switch (data.status) {
    case 'checked_in':
    case 'checked_out':
      return { tone: 'ok', headline: text(data.status) };
    case 'already_checked_in':
      return { tone: 'repeat', headline: text(data.status, { time: clock(attendance.check_in_at || data.scanned_at, timezone) }) };
    case 'already_checked_out':
      return { tone: 'repeat', headline: text(data.status, { time: clock(attendance.check_out_at || data.scanned_at, timezone) }) };
    default:
      return { tone: 'error', headline: text(data.status) };
  }
}

/** A refusal's headline: the desk's own words for the API's known codes, else a generic one. */
function refusalHeadline(error) {
  return hasPhrase(error.code) ? text(error.code) : text('refused');
}

/** The member number a card names (``IMSJ-<member_no>-<serial>-<signature>``), shown while offline. */
function cardMemberNo(card) {
  const parts = card.split('-');
  return parts.length >= 4 ? parts.slice(1, -2).join('-') : card;
}

function identityLabel(scan) {
  return scan.card
    ? text('queued_card', { member_no: cardMemberNo(scan.card) })
    : text('queued_number', { member_no: scan.member_no });
}

function showMessage(tone, key, values) {
  result.show({ tone, headline: text(key, values) });
  sound(tone);
}

function undoable(answer) {
  const attendanceId = answer.data.attendance?.id;
  if (answer.status !== 201 || answer.data.status !== 'checked_in' || !attendanceId) {
    return {};
  }
  return { attendanceId, undoUntil: Date.now() + config.undoMinutes * 60000 };
}

// --- the connection: online, or offline with scans waiting ----------------------------------------------

function setOnline(value) {
  if (online === value) {
    return;
  }
  online = value;
  const state = value ? 'online' : 'offline';
  connection.box.dataset.state = state;
  root.dataset.connection = state;
  connection.label.textContent = text(state);
  connection.banner.hidden = value;
  if (value) {
    syncer?.run();
  }
}

async function refreshWaiting() {
  const count = queue ? await queue.count() : 0;
  const label = text('waiting', { count });
  connection.waiting.hidden = count === 0;
  connection.waiting.textContent = label;
  connection.bannerCount.textContent = count ? label : '';
  root.dataset.waiting = String(count);
}

async function refreshFailures() {
  renderFailures({
    section: byId('desk-failed-section'),
    list: byId('desk-failed'),
    failures: queue ? await queue.failures() : [],
    describe: ({ scan }) => `${clock(scan.scanned_at, timezoneOf(scan))} ${identityLabel(scan)} (${scan.lecture_code || scan.symposium_code})`,
    reason: (failure) => (hasPhrase(failure.code) ? text(failure.code) : `${text('refused')}: ${failure.message}`),
    dismissLabel: text('dismiss'),
    onDismiss: async (failure) => {
      await queue.dismiss(failure.id);
      await refreshFailures();
    },
  });
}

/** The recent-list entry of a queued scan; one kept before a reload gets a new entry when it is sent. */
function entryOf(item) {
  return entriesByNonce.get(item.nonce) || recent.add({ time: clock(item.scan.scanned_at, timezoneOf(item.scan)), who: identityLabel(item.scan) });
}

function startSyncing() {
  syncer = createSyncer({
    queue,
    send: async (scan) => {
      try {
        return await client.checkIn(scan);
      } catch (error) {
        // An "out" with nothing open is kept by the server (an offline "in" may still come): it was sent.
        if (error instanceof Refused && error.code === 'not_checked_in' && error.details) {
          return { status: error.status, data: error.details };
        }
        throw error;
      }
    },
    onSent: (item, answer) => {
      setOnline(true);
      const outcome = accepted(answer.data, timezoneOf(item.scan));
      entryOf(item).update({ tone: outcome.tone, text: `${text('synced')}: ${outcome.headline}`, who: answer.data.member?.name, ...undoable(answer) });
      entriesByNonce.delete(item.nonce);
      refreshWaiting();
      counts.soon();
    },
    onFailed: (item, error) => {
      setOnline(true);
      entryOf(item).update({ tone: 'error', text: `${text('sync_failed')}: ${refusalHeadline(error)}` });
      entriesByNonce.delete(item.nonce);
      refreshWaiting();
      refreshFailures();
    },
    onUnreachable: () => setOnline(false),
    onSessionProblem: (error) => showMessage('error', error.code === 'csrf_failed' ? 'csrf_failed' : 'unauthorized'),
    onIdle: refreshWaiting,
  });
  syncer.run();
}

/** Keeps a scan in the browser until the server can take it. */
async function keep(scan, entry) {
  if (!queue) {
    entry.update({ tone: 'error', text: text('storage_unavailable') });
    showMessage('error', 'storage_unavailable');
    return;
  }
  await queue.add({ ...scan, method: 'offline' });
  entriesByNonce.set(scan.nonce, entry);
  entry.update({ tone: 'queued', text: text('queued') });
  result.show({ tone: 'queued', headline: text('queued'), name: identityLabel(scan) });
  sound('queued');
  await refreshWaiting();
  syncer?.run();
}

// --- scanning -----------------------------------------------------------------------------------------

/** Records one scan: ``identity`` is ``{card}`` or ``{member_no}``; ``member`` is known after a search. */
async function record(identity, method, member = null) {
  const chosen = setup.current();
  if (!chosen) {
    showMessage('error', 'choose_symposium');
    return;
  }
  if (!chosen.symposium.today && !chosen.correctionTime) {
    showMessage('error', 'correction_time');
    return;
  }
  const scan = {
    ...identity,
    symposium_code: chosen.symposium.code,
    direction: chosen.direction,
    // A correction names its wall-clock time without an offset: the server reads it in the symposium's zone.
    scanned_at: chosen.correctionTime ? `${chosen.symposium.heldOn}T${chosen.correctionTime}:00` : new Date().toISOString(),
    nonce: crypto.randomUUID(),
    desk: chosen.desk,
    method,
  };
  if (chosen.lectureCode) {
    scan.lecture_code = chosen.lectureCode;
  }
  const timezone = chosen.symposium.timezone;
  const entry = recent.add({ time: clock(scan.scanned_at, timezone), who: member ? member.name : identityLabel(scan) });
  if (!online) {
    await keep(scan, entry);
    return;
  }
  result.show({ tone: 'pending', headline: text('sending'), ...memberLines(member) });
  try {
    const answer = await client.checkIn(scan);
    setOnline(true);
    const outcome = accepted(answer.data, timezone);
    result.show({ ...outcome, ...memberLines(answer.data.member) });
    sound(outcome.tone);
    entry.update({ tone: outcome.tone, text: outcome.headline, who: answer.data.member?.name, ...undoable(answer) });
    counts.soon();
  } catch (error) {
    if (error instanceof Unreachable) {
      setOnline(false);
      await keep(scan, entry);
    } else if (error instanceof Refused) {
      // Some refusals name the member in their details; the server's own words help where none is known.
      const headline = refusalHeadline(error);
      const known = error.details?.member || member;
      result.show({ tone: 'error', headline, meta: error.message, ...memberLines(known) });
      sound('error');
      entry.update({ tone: 'error', text: headline, who: error.details?.member?.name });
    } else {
      throw error;
    }
  }
}

const scanInput = createScanInput({
  input,
  list: byId('desk-results'),
  status: byId('desk-search-status'),
  canSearch: () => online,
  search: async (query, signal) => (await client.search(query, signal)).data.members,
  onSearchError: (error) => {
    if (error instanceof Unreachable) {
      setOnline(false);
      showMessage('error', 'offline_search');
    } else {
      result.show({ tone: 'error', headline: refusalHeadline(error), meta: error.message });
      sound('error');
    }
  },
  onScan: record,
  say: { text, show: showMessage },
  describe: (member) => [
    ['desk-option-name', member.name],
    ['desk-option-romaji', member.name_romaji],
    ['desk-option-meta', memberLines(member).meta],
  ],
});

// --- live counts ----------------------------------------------------------------------------------------

const counts = createCounts({
  client,
  current: () => setup.current(),
  body: byId('desk-counts-body'),
  updated: byId('desk-counts-updated'),
  intervalSeconds: config.countsInterval,
  wholeDay: text('whole_day'),
  updatedLabel: (symposium) => text('counts_updated', { time: clock(new Date().toISOString(), symposium.timezone) }),
  onReached: () => setOnline(true),
  onUnreachable: () => setOnline(false),
});

// --- undo, walk-ins, camera -----------------------------------------------------------------------------

const undoDialog = createUndoDialog({
  dialog: byId('desk-undo'),
  who: byId('desk-undo-who'),
  reason: byId('desk-undo-reason'),
  error: byId('desk-undo-error'),
  cancel: byId('desk-undo-cancel'),
  undo: (attendanceId, reason) => client.undo(attendanceId, reason),
  onUndone: (entry) => {
    entry.update({ tone: 'repeat', text: text('undone') });
    result.show({ tone: 'repeat', headline: text('undo_done'), name: entry.who });
    sound('repeat');
    counts.soon();
  },
  describeError: (error) => {
    if (error instanceof Unreachable) {
      setOnline(false);
      return text('offline');
    }
    return hasPhrase(error.code) ? text(error.code) : `${text('undo_failed')}: ${error.message}`;
  },
  onClose: () => input.focus(),
});

createWalkInForm({
  details: byId('desk-walkin'),
  form: byId('desk-walkin-form'),
  message: byId('desk-walkin-message'),
  canSend: () => {
    if (!setup.current()) {
      return 'choose_symposium';
    }
    return online ? null : 'offline_walk_in';
  },
  register: (form) => {
    const chosen = setup.current();
    return client.registerWalkIn({ ...form, symposium_code: chosen.symposium.code, desk: chosen.desk });
  },
  onRegistered: (member) => {
    input.focus();
    return record({ member_no: member.member_no }, 'manual', member);
  },
  text,
  hasPhrase,
});

function enableCamera() {
  const camera = { button: byId('desk-camera'), dialog: byId('desk-camera-dialog'), video: byId('desk-video'), stop: null };
  camera.button.hidden = false;
  camera.button.addEventListener('click', async () => {
    camera.dialog.showModal();
    try {
      camera.stop = await startCamera(camera.video, (code) => {
        const typed = classify(code);
        if (typed.kind === 'card') {
          record({ card: typed.value }, 'qr');
        } else {
          showMessage('error', 'unknown_card');
        }
      });
    } catch {
      camera.dialog.close();
      showMessage('error', 'camera_unavailable');
    }
  });
  byId('desk-camera-close').addEventListener('click', () => camera.dialog.close());
  camera.dialog.addEventListener('close', () => {
    camera.stop?.();
    camera.stop = null;
    input.focus();
  });
}

// --- focus: the scan input has it whenever the clerk is not using another control ----------------------

function isTextEntry(node) {
  return node instanceof HTMLElement && (node.isContentEditable || node.matches('input:not([type=radio]):not([type=checkbox]), textarea'));
}

document.addEventListener(
  'keydown',
  (event) => {
    // A scanner's keystrokes must land in the scan input even when a button or a select has the focus.
    if (document.querySelector('dialog[open]') || isTextEntry(event.target) || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    if (event.key.length === 1) {
      input.focus();
    }
  },
  true,
);

input.addEventListener('blur', () => {
  setTimeout(() => {
    if (!document.activeElement || document.activeElement === document.body) {
      input.focus();
    }
  }, 0);
});

// --- start --------------------------------------------------------------------------------------------

function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) {
    return;
  }
  // The page can be reloaded offline once a service worker controls it (and so has cached the shell).
  const markReady = () => {
    if (navigator.serviceWorker.controller) {
      root.dataset.offlineReady = 'true';
    }
  };
  navigator.serviceWorker.addEventListener('controllerchange', markReady);
  navigator.serviceWorker.register(config.serviceWorker, { scope: config.scope }).then(
    () => navigator.serviceWorker.ready.then(markReady),
    () => {},
  );
}

async function start() {
  input.focus();
  registerServiceWorker();
  cameraSupported().then((supported) => supported && enableCamera());
  window.addEventListener('online', () => syncer?.run());
  try {
    queue = await openQueue();
  } catch {
    const warning = byId('desk-storage-warning');
    warning.textContent = text('storage_unavailable');
    warning.hidden = false;
  }
  await refreshWaiting();
  await refreshFailures();
  if (queue) {
    startSyncing();
  }
  counts.refresh();
  root.dataset.ready = 'true';
}

start();
