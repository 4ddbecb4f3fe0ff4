// Undo of a recent scan: asks why, then voids the attendance (the row is kept and audited on the server).

export function createUndoDialog({ dialog, who, reason, error, cancel, undo, onUndone, describeError, onClose }) {
  let entry = null;

  dialog.querySelector('form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const why = reason.value.trim();
    if (!why) {
      reason.focus();
      return;
    }
    try {
      await undo(entry.attendanceId, why);
      dialog.close();
      onUndone(entry);
    } catch (failure) {
      error.hidden = false;
      error.textContent = describeError(failure);
    }
  });
  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', onClose);

  return {
    open(recentEntry) {
      entry = recentEntry;
      who.textContent = recentEntry.who;
      reason.value = '';
      error.hidden = true;
      dialog.showModal();
      reason.focus();
    },
  };
}
