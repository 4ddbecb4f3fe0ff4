// The desk's one input. A USB barcode scanner types the card's code and Enter; a clerk types a member number
// and Enter, or a name (kanji, kana, romaji) and picks from the results with the arrow keys and Enter.

const CARD = /^IMSJ-/i;
const MEMBER_NO = /^(?=.*\d)[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SEARCH_DELAY_MS = 150;

/** What was typed: a card payload, a member number, or a name to search (full-width input folded by NFKC). */
export function classify(raw) {
  const value = raw.trim();
  const folded = value.normalize('NFKC');
  if (CARD.test(folded)) {
    return { kind: 'card', value: folded.toUpperCase() };
  }
  if (MEMBER_NO.test(folded)) {
    return { kind: 'member_no', value: folded };
  }
  return { kind: 'name', value };
}

/**
 * Wires the input to its listbox of results. ``search(query, signal)`` resolves to a list of members;
 * ``onScan({card} | {member_no}, method, member)`` records a scan; ``say.text`` words a phrase for the
 * screen reader's status line and ``say.show`` puts it in the big result; ``describe(member)`` gives the
 * ``[className, text]`` parts of a result row.
 */
export function createScanInput({ input, list, status, canSearch, search, onSearchError, onScan, say, describe }) {
  let results = [];
  let active = -1;
  let pending = null;
  let timer = null;
  let shownFor = '';

  function setExpanded(open) {
    list.hidden = !open;
    input.setAttribute('aria-expanded', String(open));
  }

  function highlight(index) {
    active = index;
    list.querySelectorAll('[role="option"]').forEach((option, position) => {
      option.setAttribute('aria-selected', String(position === index));
      if (position === index) {
        input.setAttribute('aria-activedescendant', option.id);
        option.scrollIntoView({ block: 'nearest' });
      }
    });
    if (index < 0) {
      input.removeAttribute('aria-activedescendant');
    }
  }

  function clearResults() {
    results = [];
    active = -1;
    shownFor = '';
    list.replaceChildren();
    input.removeAttribute('aria-activedescendant');
    setExpanded(false);
  }

  function render(members, query) {
    results = members;
    shownFor = query;
    active = -1;
    list.replaceChildren(
      ...members.map((member, index) => {
        const option = document.createElement('li');
        option.id = `desk-option-${index}`;
        option.setAttribute('role', 'option');
        option.setAttribute('aria-selected', 'false');
        option.className = 'desk-option';
        for (const [className, text] of describe(member)) {
          const part = document.createElement('span');
          part.className = className;
          part.textContent = text;
          option.append(part);
        }
        option.addEventListener('mousedown', (event) => event.preventDefault());
        option.addEventListener('click', () => choose(index));
        return option;
      }),
    );
    setExpanded(members.length > 0);
    status.textContent = members.length ? say.text('members_found', { count: members.length }) : say.text('no_member_found');
  }

  /** Runs the search for the input's current text now; a newer search cancels an older one. */
  function runSearch() {
    clearTimeout(timer);
    const query = input.value.trim();
    pending?.controller.abort();
    const controller = new AbortController();
    const promise = search(query, controller.signal).then(
      (members) => {
        if (input.value.trim() === query) {
          render(members, query);
        }
        return members;
      },
      (error) => {
        if (!controller.signal.aborted) {
          onSearchError(error);
        }
        return null;
      },
    );
    pending = { controller, promise, query };
    return promise;
  }

  function choose(index) {
    const member = results[index];
    if (!member) {
      return;
    }
    reset();
    onScan({ member_no: member.member_no }, 'search', member);
  }

  function reset() {
    clearTimeout(timer);
    pending?.controller.abort();
    pending = null;
    input.value = '';
    clearResults();
  }

  async function enter() {
    if (active >= 0) {
      choose(active);
      return;
    }
    const typed = classify(input.value);
    if (!typed.value) {
      return;
    }
    if (typed.kind !== 'name') {
      reset();
      onScan({ [typed.kind]: typed.value }, typed.kind === 'card' ? 'qr' : 'manual');
      return;
    }
    if (!canSearch()) {
      say.show('error', 'offline_search');
      return;
    }
    const members = shownFor === typed.value ? results : await runSearch();
    if (!members) {
      return;
    }
    if (members.length === 1) {
      choose(0);
    } else if (members.length === 0) {
      say.show('error', 'no_member_found');
    } else {
      highlight(0);
      status.textContent = say.text('choose_member');
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    const typed = classify(input.value);
    if (!typed.value || typed.kind === 'card' || !canSearch()) {
      clearResults();
      return;
    }
    timer = setTimeout(runSearch, SEARCH_DELAY_MS);
  });

  input.addEventListener('keydown', (event) => {
    if (event.isComposing) {
      return; // Enter confirms the input method's conversion of kana to kanji, not the scan.
    }
    if (event.key === 'Enter') {
      event.preventDefault();
      enter();
    } else if (event.key === 'ArrowDown' && results.length) {
      event.preventDefault();
      highlight((active + 1) % results.length);
    } else if (event.key === 'ArrowUp' && results.length) {
      event.preventDefault();
      highlight(active <= 0 ? results.length - 1 : active - 1);
    } else if (event.key === 'Escape') {
      reset();
    }
  });

  return { reset, focus: () => input.focus() };
}
