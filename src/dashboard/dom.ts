/**
 * Builds elements from data with textContent only: job names, logs and error messages
 * are the submitters' text, and none of it may ever become markup.
 */
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | EventListener | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else el.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'object' ? child : visibleControls(String(child)));
  }
  return el;
}

/**
 * Bidirectional formatting characters (U+202A-U+202E, U+2066-U+2069, U+200E/F, U+061C)
 * shown as their code points: in a submitter's text, a U+202E makes `evil<U+202E>cod.sh`
 * read as "evilhs.doc". Right-to-left letters themselves are left as they are.
 */
export function visibleControls(text: string): string {
  return text.replace(
    /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g,
    (c) => `<U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}>`,
  );
}

export function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  return el;
}

/** "3 s ago", "2 min ago", from an ISO time. */
export function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return '—';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 0) return 'in ' + span(-s);
  return span(s) + ' ago';
}

function span(s: number): string {
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

export function duration(from: string | null, to: string | null): string {
  if (!from) return '—';
  const ms = (to ? Date.parse(to) : Date.now()) - Date.parse(from);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function localTime(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}

export function badge(status: string): HTMLElement {
  return h('span', { class: `badge ${status}`, 'data-status': status }, status);
}
