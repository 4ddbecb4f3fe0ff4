// What this desk records: a symposium, one of its lectures or the whole day, and check-in or check-out.
// Remembered in localStorage, so a reload (or a tablet that slept) comes back to the same choice.

const STORAGE_KEY = 'cme-desk:setup';

function remembered() {
  try {
    return JSON.parse(localStorage.getItem(STORAGE_KEY)) || {};
  } catch {
    return {};
  }
}

/**
 * ``symposia`` come from the page's config; ``lectureLabel`` and ``wholeDay`` name the lecture choices;
 * ``onChange`` runs after every change the clerk makes.
 */
export function createSetup({ root, symposia, operator, wholeDay, lectureLabel, onChange }) {
  const fields = {
    symposium: root.querySelector('#desk-symposium'),
    target: root.querySelector('#desk-target'),
    deskName: root.querySelector('#desk-name'),
    sound: root.querySelector('#desk-sound'),
    // Only administrators get it: the wall-clock time of a correction, on the symposium's date.
    time: root.querySelector('#desk-time'),
    directions: [...root.querySelectorAll('input[name="direction"]')],
  };

  const symposiumByCode = (code) => symposia.find((symposium) => symposium.code === code) || null;
  const direction = () => fields.directions.find((radio) => radio.checked)?.value || 'in';

  function fillLectures(symposium, wanted) {
    const options = [new Option(wholeDay, '')];
    for (const lecture of symposium ? symposium.lectures : []) {
      options.push(new Option(lectureLabel(lecture), lecture.code));
    }
    fields.target.replaceChildren(...options);
    fields.target.value = options.some((option) => option.value === wanted) ? wanted : '';
  }

  function save() {
    localStorage.setItem(
      STORAGE_KEY,
      JSON.stringify({
        symposium: fields.symposium.value,
        lecture: fields.target.value,
        direction: direction(),
        desk: fields.deskName.value.trim(),
        sound: fields.sound.checked,
      }),
    );
    // The scan input's border shows the direction, so a desk switched to check-out is noticed.
    root.dataset.direction = direction();
  }

  function restore() {
    const saved = remembered();
    if (symposiumByCode(saved.symposium)) {
      fields.symposium.value = saved.symposium;
    }
    fillLectures(symposiumByCode(fields.symposium.value), saved.lecture);
    for (const radio of fields.directions) {
      radio.checked = radio.value === (saved.direction || 'in');
    }
    fields.deskName.value = saved.desk || '';
    fields.sound.checked = saved.sound !== false;
    save();
  }

  const changed = () => {
    save();
    onChange();
  };
  fields.symposium.addEventListener('change', () => {
    fillLectures(symposiumByCode(fields.symposium.value), '');
    changed();
  });
  for (const control of [fields.target, fields.sound, ...fields.directions]) {
    control.addEventListener('change', changed);
  }
  fields.deskName.addEventListener('change', save);
  root.querySelector('#desk-setup').addEventListener('submit', (event) => event.preventDefault());

  restore();

  return {
    symposiumByCode,
    soundOn: () => fields.sound.checked,
    /** The current choice, or null when there is no symposium to record for. */
    current() {
      const symposium = symposiumByCode(fields.symposium.value);
      if (!symposium) {
        return null;
      }
      return {
        symposium,
        lectureCode: fields.target.value || null,
        direction: direction(),
        desk: fields.deskName.value.trim() || operator,
        correctionTime: fields.time?.value || null,
      };
    },
  };
}
