// A job's progress page: polls the job's JSON once a second and updates the bar, the counts, the summary and
// the problems until the job has finished, then reveals what the job made (an export's download link).
// Without JavaScript the page reloads itself instead.
(function () {
  'use strict';

  const POLL_MS = 1000;
  const RETRY_MS = 5000;
  const root = document.querySelector('[data-job-progress]');
  if (!root) {
    return;
  }
  const url = root.dataset.jobProgress;
  const bar = root.querySelector('progress');
  const errorsBox = root.querySelector('.job-errors');
  const errorsList = root.querySelector('[data-job-errors]');
  const reload = root.querySelector('[data-job-reload]');
  const succeeded = root.querySelector('[data-job-succeeded]');

  function setField(name, value) {
    const node = root.querySelector(`[data-job-field="${name}"]`);
    if (node) {
      node.textContent = value === null || value === undefined ? '' : String(value);
    }
  }

  function render(job) {
    if (job.total) {
      bar.max = job.total;
      bar.value = job.done;
    } else if (job.finished) {
      bar.max = 1;
      bar.value = 1;
    } else {
      bar.removeAttribute('value'); // nothing to count: the bar shows work going on
    }
    bar.textContent = `${job.done} / ${job.total}`;
    setField('status_label', job.status_label);
    setField('done', job.done);
    setField('total', job.total);
    setField('summary', job.summary);
    errorsList.replaceChildren(
      ...job.errors.map((error) => {
        const item = document.createElement('li');
        item.textContent = error.member_no ? `${error.member_no}: ${error.message}` : error.message;
        return item;
      }),
    );
    errorsBox.hidden = job.errors.length === 0;
    if (succeeded) {
      succeeded.hidden = job.status !== 'succeeded';
    }
    reload.hidden = job.finished;
  }

  async function poll() {
    try {
      const response = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
      if (!response.ok) {
        throw new Error(`HTTP ${response.status}`);
      }
      const job = await response.json();
      render(job);
      if (!job.finished) {
        setTimeout(poll, POLL_MS);
      }
    } catch (error) {
      setTimeout(poll, RETRY_MS);
    }
  }

  reload.hidden = true;
  setTimeout(poll, POLL_MS);
})();
