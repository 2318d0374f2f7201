import { ApiError, LoginNeeded, login, logout } from './api.js';
import { h, visibleControls } from './dom.js';
import { jobPage } from './jobPage.js';
import { jobsPage } from './jobsPage.js';
import { systemPage } from './systemPage.js';

/**
 * The dashboard: a page per hash route (#/jobs, #/jobs/ID, #/system), each a client of
 * the /v1 API. With a token configured the API answers 401 until the browser logs in;
 * the login form (or ?token= in the URL, once) trades the token for the session cookie.
 */

const main = document.getElementById('main')!;
const nav = document.getElementById('nav')!;
const logoutButton = document.getElementById('logout');
let stop: (() => void) | null = null;

/** What a failed login tells the user: a limited address must wait, whatever it types. */
function loginFailure(error: unknown): string {
  if (error instanceof LoginNeeded) return 'Wrong token.';
  if (error instanceof ApiError && error.status === 429) {
    return `Too many wrong tokens from this address: try again in ${error.retryAfter ?? 'a few'} s.`;
  }
  return error instanceof Error ? error.message : String(error);
}

function showLogin(failed: string | null): void {
  stop?.();
  stop = null;
  nav.hidden = true;
  if (logoutButton) logoutButton.hidden = true;
  const input = h('input', {
    type: 'password',
    id: 'token',
    name: 'token',
    autocomplete: 'current-password',
    'aria-label': 'Token',
    required: true,
  });
  const error = h('p', { class: 'message', id: 'login-error' }, failed ?? '');
  const form = h(
    'form',
    { class: 'card login', id: 'login' },
    h('h1', {}, 'runbox'),
    h('p', {}, 'This server needs its token (RUNBOX_TOKEN).'),
    input,
    h('button', { type: 'submit' }, 'Log in'),
    error,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    login(input.value).then(
      () => route(),
      (e: unknown) => showLogin(loginFailure(e)),
    );
  });
  main.replaceChildren(form);
  input.focus();
}

function showError(error: unknown): void {
  if (error instanceof LoginNeeded) return showLogin(null);
  const text = error instanceof Error ? error.message : String(error);
  let banner = document.getElementById('error');
  if (!banner) {
    banner = h('p', { class: 'message error', id: 'error', role: 'alert' });
    main.prepend(banner);
  }
  // The API's messages quote what they were sent (a link's filter, an id).
  banner.textContent = visibleControls(text);
}

/**
 * A part of the address, its %XX escapes decoded. A `%` that escapes no UTF-8 (`#/jobs/%E0`,
 * a link anyone can send) threw URIError here and left the page blank: it is the
 * text as typed, which the API then refuses as an id like any other.
 */
function decodedOrAsTyped(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function route(): void {
  stop?.();
  nav.hidden = false;
  if (logoutButton) logoutButton.hidden = false;
  const hash = location.hash.replace(/^#/, '') || '/jobs';
  const [path = '', query = ''] = hash.split('?');
  const job = /^\/jobs\/(.+)$/.exec(path);
  for (const link of nav.querySelectorAll('a')) {
    link.classList.toggle('active', path.startsWith(link.getAttribute('href')!.slice(1)));
  }
  if (job) stop = jobPage(main, decodedOrAsTyped(job[1]!));
  else if (path === '/system') stop = systemPage(main);
  else stop = jobsPage(main, new URLSearchParams(query));
}

main.addEventListener('runbox-error', (event) => showError((event as CustomEvent).detail));
main.addEventListener('runbox-ok', () => document.getElementById('error')?.remove());
window.addEventListener('hashchange', route);
// Only a server with a token has the button (there is no session to end without one).
logoutButton?.addEventListener('click', () => {
  // Back to the page: the server now answers 401 and the login form shows.
  logout().then(
    () => route(),
    (e: unknown) => showError(e),
  );
});

/**
 * ?token= as written: URLSearchParams reads `+` as a space (form encoding), which turned
 * a base64 token (`openssl rand -base64 32`) pasted into the address into a wrong one.
 * Only %XX escapes are decoded; a space is written %20.
 */
function tokenParam(search: string): string | null {
  for (const part of search.replace(/^\?/, '').split('&')) {
    const eq = part.indexOf('=');
    if ((eq < 0 ? part : part.slice(0, eq)) !== 'token') continue;
    // A stray % that escapes nothing: the token as typed.
    return decodedOrAsTyped(eq < 0 ? '' : part.slice(eq + 1));
  }
  return null;
}

// ?token= once: trade it for the cookie, then take it out of the address bar and history.
const given = tokenParam(location.search);
if (given !== null) {
  const clean = new URL(location.href);
  clean.searchParams.delete('token');
  history.replaceState(null, '', clean.toString());
  login(given).then(
    () => route(),
    (e: unknown) => showLogin(loginFailure(e)),
  );
} else {
  route();
}
