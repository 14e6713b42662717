// The JSON API of this origin, with the API key the user typed: kept in the tab's
// sessionStorage (so is the overview's SLA), sent as `authorization: Bearer`, forgotten when
// the API refuses it. Also how a failed call reads, and a panel that loads on its own.

import { append, h, on } from './dom.js';

export const KEY = 'leadscore.apiKey';
export const SLA_KEY = 'leadscore.slaHours';

export function slaHours() {
  const n = Number(sessionStorage.getItem(SLA_KEY));
  return Number.isInteger(n) && n > 0 && n <= 8760 ? n : 48;
}

// ---- The API.

export class ApiError extends Error {
  constructor(status, code, message, detail, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail || {};
    this.retryAfter = retryAfter;
  }
}

export class NeedKey extends Error {}

export async function api(path, method, body) {
  const key = sessionStorage.getItem(KEY);
  if (!key) {
    showKey('');
    throw new NeedKey('no key');
  }
  const headers = { authorization: 'Bearer ' + key, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method: method || 'GET',
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-cache',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch (e) {
    throw new ApiError(0, 'network', 'The API could not be reached (' + e.message + ').');
  }
  let json = null;
  try {
    json = await response.json();
  } catch (_) {
    json = null;
  }
  if (response.ok) return json;
  const error = (json && json.error) || {};
  const failure = new ApiError(response.status, error.code || 'http_' + response.status,
    error.message || response.statusText || 'request failed', error, response.headers.get('retry-after'));
  if (response.status === 401) {
    sessionStorage.removeItem(KEY);
    showKey('The API refused the key: ' + failure.message);
    throw new NeedKey(failure.message);
  }
  throw failure;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) q.set(k, v);
  return q.toString();
}

/** What went wrong, in words, with a retry button where waiting helps. */
export function problem(error, retry) {
  if (error instanceof NeedKey) return h('p', { class: 'muted' }, 'Waiting for an API key.');
  const box = h('div', { class: 'alert', role: 'alert' });
  if (error.status === 503) {
    const wait = error.retryAfter ? ' in ' + error.retryAfter + ' s' : ' in a moment';
    append(box, [h('p', null, 'Temporarily unavailable (storage or a service it needs). Retry' + wait + '.')]);
  } else if (error.status === 403) {
    append(box, [h('p', null, 'This key may not do that: ' + error.message)]);
  } else if (error.status === 0) {
    append(box, [h('p', null, error.message)]);
  } else {
    append(box, [h('p', null, 'Error ' + error.status + ' (' + error.code + '): ' + error.message)]);
  }
  if (retry) append(box, [on(h('button', { type: 'button', class: 'quiet' }, 'Retry'), 'click', retry)]);
  return box;
}

/** A section that loads on its own: one failing leaves the others. */
export function panel(title, load, options) {
  const id = 'p-' + title.toLowerCase().replace(/[^a-z]+/g, '-');
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const section = h('section', { class: 'panel', 'aria-labelledby': id },
    h('h2', { id }, title), body);
  const run = async () => {
    body.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    try {
      body.replaceChildren(await load());
    } catch (e) {
      if (options && options.missing && e.status === 404) body.replaceChildren(h('p', { class: 'muted' }, options.missing));
      else body.replaceChildren(problem(e, run));
    }
  };
  run();
  return section;
}

// ---- The key.

export function showKey(message) {
  document.getElementById('key-panel').hidden = false;
  document.getElementById('view').replaceChildren();
  document.getElementById('forget-key').hidden = true;
  document.getElementById('key-message').textContent = message || '';
  document.getElementById('key-input').focus();
}

export function hideKey() {
  document.getElementById('key-panel').hidden = true;
  document.getElementById('forget-key').hidden = false;
}
