// The attendance desk: wires the scan input, the API, the offline queue and the views together.
// Every scan gets its nonce and scan time the moment it is taken, online or not, so that sending it again
// (after a timeout, or from the offline queue) can never record it twice and credits use the real time.

import { Refused, Unreachable, createClient } from './api.js';
import { cameraSupported, startCamera } from './camera.js';
import { createSyncer, openQueue } from './offline-queue.js';
import { classify, createScanInput } from './scan-input.js';
import { beep } from './sound.js';
import { createRecentList, createResultView, renderCounts, renderFailures } from './views.js';

const root = document.getElementById('desk');
const config = JSON.parse(root.dataset.config);
const SETUP_KEY = 'cme-desk:setup';
const RECENT_LIMIT = 30;
const byId = (id) => document.getElementById(id);

// --- phrases and times --------------------------------------------------------------------------------

function text(key, values = {}) {
  const phrase = config.phrases[key] ?? key;
  return phrase.replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ''));
}

const locale = config.lang === 'ja' ? 'ja-JP' : 'en-GB';

function clock(iso, timezone) {
  if (!iso) {
    return '';
  }
  return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: timezone }).format(new Date(iso));
}

// --- what this desk records: symposium, lecture or whole day, direction; remembered across reloads -------

const setup = {
  symposium: byId('desk-symposium'),
  target: byId('desk-target'),
  deskName: byId('desk-name'),
  sound: byId('desk-sound'),
  directions: [...document.querySelectorAll('input[name="direction"]')],
};

function remembered() {
  try {
    return JSON.parse(localStorage.getItem(SETUP_KEY)) || {};
  } catch {
    return {};
  }
}

function symposiumByCode(code) {
  return config.symposia.find((symposium) => symposium.code === code) || null;
}

function fillLectures(symposium, wanted) {
  const options = [new Option(text('whole_day'), '')];
  for (const lecture of symposium ? symposium.lectures : []) {
    options.push(new Option(`${lecture.starts}–${lecture.ends} ${lecture.title} (${lecture.code})`, lecture.code));
  }
  setup.target.replaceChildren(...options);
  setup.target.value = options.some((option) => option.value === wanted) ? wanted : '';
}

function selection() {
  const symposium = symposiumByCode(setup.symposium.value);
  if (!symposium) {
    return null;
  }
  return {
    symposium,
    lectureCode: setup.target.value || null,
    direction: setup.directions.find((radio) => radio.checked)?.value || 'in',
    desk: setup.deskName.value.trim() || config.operator,
  };
}

function saveSetup() {
  const direction = setup.directions.find((radio) => radio.checked)?.value || 'in';
  localStorage.setItem(
    SETUP_KEY,
    JSON.stringify({
      symposium: setup.symposium.value,
      lecture: setup.target.value,
      direction,
      desk: setup.deskName.value.trim(),
      sound: setup.sound.checked,
    }),
  );
  root.dataset.direction = direction;
}

function restoreSetup() {
  const saved = remembered();
  if (symposiumByCode(saved.symposium)) {
    setup.symposium.value = saved.symposium;
  }
  fillLectures(symposiumByCode(setup.symposium.value), saved.lecture);
  for (const radio of setup.directions) {
    radio.checked = radio.value === (saved.direction || 'in');
  }
  setup.deskName.value = saved.desk || '';
  setup.sound.checked = saved.sound !== false;
  root.dataset.direction = saved.direction || 'in';
}

// --- answers ------------------------------------------------------------------------------------------

const result = createResultView(byId('desk-result'));

function sound(tone) {
  if (setup.sound.checked) {
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
      return { tone: 'repeat', headline: text('already_checked_in', { time: clock(attendance.check_in_at || data.scanned_at, timezone) }) };
    case 'already_checked_out':
      return { tone: 'repeat', headline: text('already_checked_out', { time: clock(attendance.check_out_at || data.scanned_at, timezone) }) };
    default:
      return { tone: 'error', headline: text(data.status) };
  }
}

function refused(error) {
  const known = Object.hasOwn(config.phrases, error.code);
  return { tone: 'error', headline: known ? text(error.code) : text('refused'), detail: error.message };
}

function identityLabel(scan) {
  return scan.card
    ? text('queued_card', { member_no: cardMemberNo(scan.card) })
    : text('queued_number', { member_no: scan.member_no });
}

/** The member number a card names (``IMSJ-<member_no>-<serial>-<signature>``), shown while offline. */
function cardMemberNo(card) {
  const parts = card.split('-');
  return parts.length >= 4 ? parts.slice(1, -2).join('-') : card;
}

function showMessage(tone, key, values) {
  result.show({ tone, headline: text(key, values) });
  sound(tone === 'error' ? 'error' : 'repeat');
}

// --- the connection: online, or offline with a queue ----------------------------------------------------

const connection = {
  box: byId('desk-connection'),
  label: byId('desk-connection-text'),
  waiting: byId('desk-waiting'),
  banner: byId('desk-offline'),
  bannerCount: byId('desk-offline-waiting'),
};
const client = createClient({ base: config.api, walkIns: config.walkIns, csrfToken: config.csrfToken });
let online = true;
let queue = null;

/** Sends the queue now, if this browser can keep one. */
function sync() {
  if (queue) {
    syncer.run();
  }
}

function setOnline(value) {
  if (online === value) {
    return;
  }
  online = value;
  connection.box.dataset.state = value ? 'online' : 'offline';
  connection.label.textContent = text(value ? 'online' : 'offline');
  connection.banner.hidden = value;
  root.dataset.connection = value ? 'online' : 'offline';
  if (value) {
    sync();
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
  const failures = queue ? await queue.failures() : [];
  renderFailures({
    section: byId('desk-failed-section'),
    list: byId('desk-failed'),
    failures,
    describe: (failure) => {
      const timezone = symposiumByCode(failure.scan.symposium_code)?.timezone;
      return `${clock(failure.scan.scanned_at, timezone)} ${identityLabel(failure.scan)} (${failure.scan.lecture_code || failure.scan.symposium_code})`;
    },
    dismissLabel: text('dismiss'),
    onDismiss: async (failure) => {
      await queue.dismiss(failure.id);
      await refreshFailures();
    },
  });
}

const entriesByNonce = new Map();

const syncer = createSyncer({
  queue: {
    oldest: () => queue.oldest(),
    remove: (item) => queue.remove(item),
    fail: (item, error) => queue.fail(item, error),
  },
  send: (scan) => client.checkIn(scan),
  onSent: (item, answer) => {
    setOnline(true);
    const timezone = symposiumByCode(item.scan.symposium_code)?.timezone;
    const outcome = accepted(answer.data, timezone);
    // A scan kept before a reload has no entry on this page yet: list it, so the desk sees it arrive.
    const entry = entriesByNonce.get(item.nonce) || recent.add({ time: clock(item.scan.scanned_at, timezone), who: identityLabel(item.scan) });
    entry.update({ tone: outcome.tone, text: `${text('synced')}: ${outcome.headline}`, who: answer.data.member?.name, ...undoable(answer) });
    refreshWaiting();
    scheduleCounts();
  },
  onFailed: (item, error) => {
    setOnline(true);
    const timezone = symposiumByCode(item.scan.symposium_code)?.timezone;
    const entry = entriesByNonce.get(item.nonce) || recent.add({ time: clock(item.scan.scanned_at, timezone), who: identityLabel(item.scan) });
    entry.update({ tone: 'error', text: `${text('sync_failed')}: ${refused(error).headline}` });
    refreshWaiting();
    refreshFailures();
  },
  onUnreachable: () => setOnline(false),
  onSessionProblem: (error) => showMessage('error', error.code === 'csrf_failed' ? 'csrf_failed' : 'unauthorized'),
  onIdle: () => refreshWaiting(),
});

// --- scanning -----------------------------------------------------------------------------------------

const recent = createRecentList({
  list: byId('desk-recent'),
  empty: byId('desk-recent-empty'),
  limit: RECENT_LIMIT,
  undoLabel: text('undo'),
  onUndo: (entry) => openUndo(entry),
});

function undoable(answer) {
  const attendanceId = answer.data.attendance?.id;
  if (answer.status !== 201 || answer.data.status !== 'checked_in' || !attendanceId) {
    return {};
  }
  return { attendanceId, undoUntil: Date.now() + config.undoMinutes * 60000 };
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
  sync();
}

/** Records one scan: ``identity`` is ``{card}`` or ``{member_no}``; ``member`` is known after a search. */
async function record(identity, method, member = null) {
  const chosen = selection();
  if (!chosen) {
    showMessage('error', 'choose_symposium');
    return;
  }
  const scan = {
    ...identity,
    symposium_code: chosen.symposium.code,
    direction: chosen.direction,
    scanned_at: new Date().toISOString(),
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
    scheduleCounts();
  } catch (error) {
    if (error instanceof Unreachable) {
      setOnline(false);
      await keep(scan, entry);
    } else if (error instanceof Refused) {
      const outcome = refused(error);
      result.show({ tone: 'error', headline: outcome.headline, ...memberLines(error.details?.member || member), meta: outcome.detail });
      sound('error');
      entry.update({ tone: 'error', text: outcome.headline });
    } else {
      throw error;
    }
  }
}

function describeMember(member) {
  return [
    ['desk-option-name', member.name],
    ['desk-option-romaji', member.name_romaji],
    ['desk-option-meta', memberLines(member).meta],
  ];
}

async function searchMembers(query, signal) {
  const answer = await client.search(query, signal);
  return answer.data.members;
}

const input = byId('desk-input');
const scanInput = createScanInput({
  input,
  list: byId('desk-results'),
  status: byId('desk-search-status'),
  canSearch: () => online,
  search: searchMembers,
  onScan: record,
  say: { text, show: (tone, key) => showMessage(tone, key) },
  describe: describeMember,
});

// --- live counts ----------------------------------------------------------------------------------------

const counts = { body: byId('desk-counts-body'), updated: byId('desk-counts-updated'), timer: null, soon: null };

function countRows(symposium, data) {
  const day = data.day || {};
  const expected = day.inside_now ?? null;
  const byCode = new Map((data.lectures || []).map((lecture) => [lecture.lecture_code, lecture]));
  const rows = symposium.lectures.map((lecture) => {
    const figures = byCode.get(lecture.code) || {};
    return {
      code: lecture.code,
      label: `${lecture.starts} ${lecture.title}`,
      checkedIn: figures.checked_in ?? 0,
      insideNow: figures.inside_now ?? 0,
      expected,
    };
  });
  rows.push({ code: '', label: text('whole_day'), checkedIn: day.checked_in ?? 0, insideNow: day.inside_now ?? 0, expected: null });
  return rows;
}

async function refreshCounts() {
  clearTimeout(counts.timer);
  const chosen = selection();
  try {
    if (chosen) {
      const answer = await client.counts(chosen.symposium.code);
      setOnline(true);
      renderCounts(counts.body, countRows(chosen.symposium, answer.data), chosen.lectureCode || '');
      counts.updated.textContent = text('counts_updated', { time: clock(new Date().toISOString(), chosen.symposium.timezone) });
    }
  } catch (error) {
    if (error instanceof Unreachable) {
      setOnline(false);
    }
  } finally {
    counts.timer = setTimeout(refreshCounts, config.countsInterval * 1000);
  }
}

function scheduleCounts() {
  clearTimeout(counts.soon);
  counts.soon = setTimeout(refreshCounts, 300);
}

// --- undo -----------------------------------------------------------------------------------------------

const undo = {
  dialog: byId('desk-undo'),
  form: byId('desk-undo-form'),
  who: byId('desk-undo-who'),
  reason: byId('desk-undo-reason'),
  error: byId('desk-undo-error'),
  entry: null,
};

function openUndo(entry) {
  undo.entry = entry;
  undo.who.textContent = entry.who;
  undo.reason.value = '';
  undo.error.hidden = true;
  undo.dialog.showModal();
  undo.reason.focus();
}

undo.form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const reason = undo.reason.value.trim();
  if (!reason) {
    undo.reason.focus();
    return;
  }
  const entry = undo.entry;
  try {
    await client.undo(entry.attendanceId, reason);
    undo.dialog.close();
    entry.update({ tone: 'repeat', text: text('undone') });
    result.show({ tone: 'repeat', headline: text('undo_done'), name: entry.who });
    sound('repeat');
    scheduleCounts();
  } catch (error) {
    undo.error.hidden = false;
    undo.error.textContent = error instanceof Refused ? refused(error).headline + (Object.hasOwn(config.phrases, error.code) ? '' : `: ${error.message}`) : text('offline');
    if (error instanceof Unreachable) {
      setOnline(false);
    }
  }
});
byId('desk-undo-cancel').addEventListener('click', () => undo.dialog.close());
undo.dialog.addEventListener('close', () => input.focus());

// --- walk-ins -------------------------------------------------------------------------------------------

const walkIn = {
  details: byId('desk-walkin'),
  form: byId('desk-walkin-form'),
  message: byId('desk-walkin-message'),
};

function walkInMessage(message) {
  walkIn.message.hidden = !message;
  walkIn.message.textContent = message || '';
}

function walkInFieldErrors(errors) {
  for (const node of walkIn.form.querySelectorAll('.field-error[id^="walkin-"]')) {
    const field = node.id.slice('walkin-'.length, -'-error'.length);
    const messages = errors[field];
    node.hidden = !messages;
    node.textContent = messages ? [].concat(messages).join(' ') : '';
    byId(`walkin-${field}`)?.setAttribute('aria-invalid', messages ? 'true' : 'false');
  }
}

walkIn.form.addEventListener('submit', async (event) => {
  event.preventDefault();
  walkInFieldErrors({});
  walkInMessage('');
  const chosen = selection();
  if (!chosen) {
    walkInMessage(text('choose_symposium'));
    return;
  }
  if (!online) {
    walkInMessage(text('offline_walk_in'));
    return;
  }
  const form = Object.fromEntries(new FormData(walkIn.form));
  try {
    const answer = await client.registerWalkIn({ ...form, symposium_code: chosen.symposium.code, desk: chosen.desk });
    const member = answer.data.member;
    walkIn.form.reset();
    walkIn.details.open = false;
    await record({ member_no: member.member_no }, 'manual', member);
  } catch (error) {
    if (error instanceof Unreachable) {
      setOnline(false);
      walkInMessage(text('offline_walk_in'));
    } else if (error instanceof Refused && error.code === 'invalid' && error.details) {
      walkInFieldErrors(error.details);
      walkInMessage(text('walk_in_invalid'));
    } else if (error instanceof Refused && error.code === 'member_exists') {
      walkInMessage(text('member_exists', { member_no: error.details?.member_no }));
    } else if (error instanceof Refused) {
      walkInMessage(Object.hasOwn(config.phrases, error.code) ? text(error.code) : error.message);
    } else {
      throw error;
    }
  }
});

// --- camera ---------------------------------------------------------------------------------------------

const camera = { button: byId('desk-camera'), dialog: byId('desk-camera-dialog'), video: byId('desk-video'), stop: null };

if (cameraSupported()) {
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

function onSetupChange() {
  saveSetup();
  scheduleCounts();
  scanInput.focus();
}

setup.symposium.addEventListener('change', () => {
  fillLectures(symposiumByCode(setup.symposium.value), '');
  onSetupChange();
});
setup.target.addEventListener('change', onSetupChange);
setup.sound.addEventListener('change', onSetupChange);
setup.deskName.addEventListener('change', saveSetup);
for (const radio of setup.directions) {
  radio.addEventListener('change', onSetupChange);
}
byId('desk-setup').addEventListener('submit', (event) => event.preventDefault());
window.addEventListener('online', sync);

function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) {
    return;
  }
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
  restoreSetup();
  saveSetup();
  scanInput.focus();
  registerServiceWorker();
  try {
    queue = await openQueue();
  } catch {
    const warning = byId('desk-storage-warning');
    warning.textContent = text('storage_unavailable');
    warning.hidden = false;
  }
  await refreshWaiting();
  await refreshFailures();
  sync();
  refreshCounts();
  root.dataset.ready = 'true';
}

start();
