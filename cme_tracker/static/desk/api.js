// The desk's client of the check-in API: JSON in and out, the session's CSRF token on every POST, and errors
// sorted into "the server could not be reached" (retry later) and "the server said no" (final).

const TIMEOUT_MS = 6000;

/** The request never got an answer from the application: no network, server down, timeout, or a 5xx. */
export class Unreachable extends Error {
  constructor(message, status = 0) {
    super(message);
    this.name = 'Unreachable';
    this.status = status;
  }
}

/** The application answered with a 4xx: ``code`` is the API's error code (``unknown_card``, ``not_open``, ...). */
export class Refused extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.name = 'Refused';
    this.status = status;
    this.code = (body && body.error) || (status === 401 ? 'unauthorized' : 'refused');
    this.details = body ? body.details : null;
  }

  /** A refusal that says nothing about the scan itself: the login or the page must be renewed first. */
  get isSessionProblem() {
    return this.status === 401 || this.code === 'csrf_failed';
  }
}

const RETRYABLE_STATUSES = new Set([408, 425, 429]);

async function readBody(response) {
  const type = response.headers.get('Content-Type') || '';
  if (!type.includes('application/json')) {
    return null;
  }
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/** Calls ``fetch`` with a timeout; ``signal`` lets a caller cancel (a newer search replaces an older one). */
async function send(url, { method = 'GET', body, csrfToken, signal } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  const cancel = () => controller.abort();
  signal?.addEventListener('abort', cancel);
  const headers = { Accept: 'application/json' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  if (method !== 'GET') {
    headers['X-CSRFToken'] = csrfToken;
  }
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: controller.signal,
    });
  } catch (error) {
    if (signal?.aborted) {
      throw error;
    }
    throw new Unreachable(error.message || 'network error');
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', cancel);
  }
  const data = await readBody(response);
  if (response.status >= 500 || RETRYABLE_STATUSES.has(response.status)) {
    throw new Unreachable(`HTTP ${response.status}`, response.status);
  }
  if (!response.ok || response.redirected) {
    // A redirect here is the login page: the session has expired.
    throw new Refused(response.redirected ? 401 : response.status, data);
  }
  return { status: response.status, data };
}

/** The API's calls as the desk uses them; ``base`` is ``/api/v1`` under the app's root. */
export function createClient({ base, walkIns, csrfToken }) {
  const post = (url, body) => send(url, { method: 'POST', body, csrfToken });
  return {
    checkIn: (scan) => post(`${base}/checkins`, scan),
    undo: (attendanceId, reason) => post(`${base}/attendances/${encodeURIComponent(attendanceId)}/void`, { reason }),
    counts: (symposiumCode) => send(`${base}/symposia/${encodeURIComponent(symposiumCode)}/attendance`),
    search: (query, signal) => send(`${base}/members/search?q=${encodeURIComponent(query)}`, { signal }),
    registerWalkIn: (form) => post(walkIns, form),
  };
}
