// Short beeps, so the clerk hears the answer while already reaching for the next card: one high tone for a
// recorded scan, two middle ones for a repeat, a low buzz for a refusal, a rising pair for a scan kept offline.

const TONES = {
  ok: { wave: 'sine', notes: [[880, 0.12]] },
  repeat: { wave: 'sine', notes: [[660, 0.08], [660, 0.08]] },
  error: { wave: 'square', notes: [[220, 0.35]] },
  queued: { wave: 'sine', notes: [[523, 0.08], [784, 0.1]] },
};

let context = null;

export function beep(kind) {
  const tone = TONES[kind];
  if (!tone || !window.AudioContext) {
    return;
  }
  context ??= new AudioContext();
  context.resume();
  let at = context.currentTime;
  for (const [frequency, seconds] of tone.notes) {
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    oscillator.type = tone.wave;
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.25, at + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + seconds);
    oscillator.connect(gain).connect(context.destination);
    oscillator.start(at);
    oscillator.stop(at + seconds + 0.02);
    at += seconds + 0.06;
  }
}
