// Live counts of the chosen symposium: per lecture checked in, inside now and expected (the people inside
// for the whole day), polled every few seconds and soon after each scan. The poll is also the probe that
// notices the server going away and coming back.

import { Unreachable } from './api.js';

const SOON_MS = 300;

function cell(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

/** Rows per lecture and one for the whole day, from ``GET /api/v1/symposia/{code}/attendance``. */
function rows(symposium, data, wholeDay) {
  const byCode = new Map(data.lectures.map((lecture) => [lecture.lecture_code, lecture]));
  const lectures = symposium.lectures.map((lecture) => {
    const figures = byCode.get(lecture.code) || { checked_in: 0, inside_now: 0 };
    return {
      code: lecture.code,
      label: `${lecture.starts} ${lecture.title}`,
      checkedIn: figures.checked_in,
      insideNow: figures.inside_now,
      expected: data.day.inside_now,
    };
  });
  const day = { code: '', label: wholeDay, checkedIn: data.day.checked_in, insideNow: data.day.inside_now, expected: null };
  return [...lectures, day];
}

function render(body, tableRows, selectedCode) {
  body.replaceChildren(
    ...tableRows.map((row) => {
      const tr = document.createElement('tr');
      tr.className = row.code === selectedCode ? 'desk-counts-selected' : '';
      tr.dataset.code = row.code;
      const label = cell('th', '', row.label);
      label.scope = 'row';
      tr.append(
        label,
        cell('td', 'number desk-count-checked-in', String(row.checkedIn)),
        cell('td', 'number desk-count-inside', String(row.insideNow)),
        cell('td', 'number desk-count-expected', row.expected === null ? '–' : String(row.expected)),
      );
      return tr;
    }),
  );
}

export function createCounts({ client, current, body, updated, intervalSeconds, wholeDay, updatedLabel, onReached, onUnreachable }) {
  let timer = null;
  let soonTimer = null;

  async function refresh() {
    clearTimeout(timer);
    clearTimeout(soonTimer);
    const chosen = current();
    try {
      if (chosen) {
        const answer = await client.counts(chosen.symposium.code);
        onReached();
        render(body, rows(chosen.symposium, answer.data, wholeDay), chosen.lectureCode || '');
        updated.textContent = updatedLabel(chosen.symposium);
      }
    } catch (error) {
      if (error instanceof Unreachable) {
        onUnreachable();
      }
    } finally {
      timer = setTimeout(refresh, intervalSeconds * 1000);
    }
  }

  return {
    refresh,
    /** Refreshes shortly, so that a burst of scans costs one request. */
    soon() {
      clearTimeout(soonTimer);
      soonTimer = setTimeout(refresh, SOON_MS);
    },
  };
}
