// What the desk shows: the big result, the recent scans with Undo, and the offline scans the server
// refused. Text goes in with textContent only, so nothing a server or a card says can become markup.

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined && text !== null) {
    node.textContent = text;
  }
  return node;
}

/** The large coloured answer to the latest scan; ``tone`` is ok, repeat, error, queued, pending or idle. */
export function createResultView(root) {
  const parts = {
    headline: root.querySelector('#desk-result-headline'),
    name: root.querySelector('#desk-result-name'),
    romaji: root.querySelector('#desk-result-romaji'),
    meta: root.querySelector('#desk-result-meta'),
  };
  return {
    show({ tone, headline, name = '', romaji = '', meta = '' }) {
      root.dataset.tone = tone;
      parts.headline.textContent = headline;
      parts.name.textContent = name;
      parts.romaji.textContent = romaji;
      parts.meta.textContent = meta;
      // Restart the flash so that two identical answers in a row are still seen as two.
      root.classList.remove('desk-result-flash');
      void root.offsetWidth;
      root.classList.add('desk-result-flash');
    },
  };
}

/** The latest scans, newest first; an entry can be updated when its answer (or its sync) arrives. */
export function createRecentList({ list, empty, limit, undoLabel, onUndo }) {
  const entries = [];

  function add({ time, who }) {
    const item = element('li', 'desk-recent-item');
    const when = element('span', 'desk-recent-time', time);
    const name = element('span', 'desk-recent-who', who);
    const outcome = element('span', 'desk-recent-outcome');
    const undo = element('button', 'button-link desk-undo-button', undoLabel);
    undo.type = 'button';
    undo.hidden = true;
    item.append(when, name, outcome, undo);
    const entry = {
      item,
      who,
      attendanceId: null,
      undoUntil: 0,
      update({ tone, text, who: newWho, attendanceId = null, undoUntil = 0 }) {
        item.dataset.tone = tone;
        outcome.textContent = text;
        if (newWho) {
          entry.who = newWho;
          name.textContent = newWho;
        }
        entry.attendanceId = attendanceId;
        entry.undoUntil = undoUntil;
        undo.hidden = !(attendanceId && undoUntil > Date.now());
      },
      expire(now) {
        if (!undo.hidden && entry.undoUntil <= now) {
          undo.hidden = true;
        }
      },
    };
    undo.addEventListener('click', () => onUndo(entry));
    entries.unshift(entry);
    list.prepend(item);
    while (entries.length > limit) {
      entries.pop().item.remove();
    }
    empty.hidden = true;
    return entry;
  }

  setInterval(() => {
    const now = Date.now();
    for (const entry of entries) {
      entry.expire(now);
    }
  }, 15000);

  return { add };
}

/** The offline scans the server refused, each with its reason and a Dismiss button. */
export function renderFailures({ section, list, failures, describe, reason, dismissLabel, onDismiss }) {
  list.replaceChildren(
    ...failures.map((failure) => {
      const item = element('li', 'desk-failed-item');
      item.append(element('span', 'desk-failed-what', describe(failure)), element('span', 'desk-failed-why', reason(failure)));
      const dismiss = element('button', 'button-link', dismissLabel);
      dismiss.type = 'button';
      dismiss.addEventListener('click', () => onDismiss(failure));
      item.append(dismiss);
      return item;
    }),
  );
  section.hidden = failures.length === 0;
}
