// Scanning the card's QR code with the tablet's camera, where the browser has the BarcodeDetector API.

const SAME_CODE_PAUSE_MS = 3000;
const FRAME_INTERVAL_MS = 150;

/** Whether this browser can read QR codes from a camera (Chromium on Linux has the API but no QR reader). */
export async function cameraSupported() {
  if (!('BarcodeDetector' in window) || !navigator.mediaDevices?.getUserMedia) {
    return false;
  }
  try {
    return (await window.BarcodeDetector.getSupportedFormats()).includes('qr_code');
  } catch {
    return false;
  }
}

/** Starts the camera in ``video`` and calls ``onCode`` for each QR code seen; returns the function that stops. */
export async function startCamera(video, onCode) {
  const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  video.srcObject = stream;
  await video.play();
  let stopped = false;
  let last = '';
  let lastAt = 0;

  async function look() {
    if (stopped) {
      return;
    }
    try {
      for (const code of await detector.detect(video)) {
        const now = Date.now();
        // A card stays in view for a while: read it once, and again only after it was out of sight.
        const stillInView = code.rawValue === last && now - lastAt < SAME_CODE_PAUSE_MS;
        last = code.rawValue;
        lastAt = now;
        if (code.rawValue && !stillInView) {
          onCode(code.rawValue);
        }
      }
    } catch {
      // A frame that cannot be read (camera still starting): try the next one.
    }
    setTimeout(look, FRAME_INTERVAL_MS);
  }

  look();
  return () => {
    stopped = true;
    for (const track of stream.getTracks()) {
      track.stop();
    }
    video.srcObject = null;
  };
}
