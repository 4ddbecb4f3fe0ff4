// The walk-in form: registers a guest through the desk's own route, then hands their member number back to be
// checked in like any other scan. Field errors from the server are shown beside their fields.

import { Refused, Unreachable } from './api.js';

export function createWalkInForm({ details, form, message, canSend, register, onRegistered, text, hasPhrase }) {
  function say(textValue) {
    message.hidden = !textValue;
    message.textContent = textValue || '';
  }

  function fieldErrors(errors) {
    for (const node of form.querySelectorAll('.field-error[id^="walkin-"]')) {
      const field = node.id.slice('walkin-'.length, -'-error'.length);
      const messages = errors[field];
      node.hidden = !messages;
      node.textContent = messages ? [].concat(messages).join(' ') : '';
      form.querySelector(`#walkin-${field}`)?.setAttribute('aria-invalid', messages ? 'true' : 'false');
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    fieldErrors({});
    say('');
    const refusal = canSend();
    if (refusal) {
      say(text(refusal));
      return;
    }
    try {
      const answer = await register(Object.fromEntries(new FormData(form)));
      form.reset();
      details.open = false;
      await onRegistered(answer.data.member);
    } catch (error) {
      if (error instanceof Unreachable) {
        say(text('offline_walk_in'));
      } else if (!(error instanceof Refused)) {
        throw error;
      } else if (error.code === 'invalid' && error.details) {
        fieldErrors(error.details);
        say(text('walk_in_invalid'));
      } else if (error.code === 'member_exists') {
        say(text('member_exists', { member_no: error.details?.member_no }));
      } else {
        say(hasPhrase(error.code) ? text(error.code) : error.message);
      }
    }
  });
}
