import { getJson } from './api.js';
import { ago, badge, h, localTime } from './dom.js';
import { poll } from './jobsPage.js';
import type { Contract, Health, Worker } from './types.js';

const REFRESH_MS = 2000;

/** Workers with their heartbeats, the result contract, the version. */
export function systemPage(root: HTMLElement): () => void {
  const controller = new AbortController();
  const about = h('section', { class: 'card', id: 'about' });
  const workers = h('tbody', {});
  root.replaceChildren(
    about,
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Workers'),
      h(
        'table',
        { class: 'workers' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...[
              'id',
              'state',
              'host',
              'pid',
              'version',
              'contract',
              'started',
              'last heartbeat',
            ].map((t) => h('th', {}, t)),
          ),
        ),
        workers,
      ),
    ),
  );
  const load = async () => {
    const [health, contract, list] = await Promise.all([
      getJson<Health>('healthz', controller.signal).catch(() => null),
      getJson<Contract>('v1/contract', controller.signal),
      getJson<{ workers: Worker[] }>('v1/workers', controller.signal),
    ]);
    about.replaceChildren(
      h('h2', {}, 'This runbox'),
      h(
        'dl',
        {},
        h('dt', {}, 'version'),
        h('dd', { id: 'version' }, health?.version ?? '—'),
        h('dt', {}, 'Docker engine'),
        h('dd', {}, health?.engine ?? '—'),
        h('dt', {}, 'contract'),
        h('dd', { id: 'contract' }, `${contract.name} ${contract.version}`),
        h('dt', {}, 'fingerprint'),
        h('dd', { class: 'hash' }, contract.fingerprint),
      ),
    );
    workers.replaceChildren(
      ...list.workers.map((w) =>
        h(
          'tr',
          { 'data-worker': w.id },
          h('td', { class: 'id' }, w.id),
          h('td', {}, badge(w.state)),
          h('td', {}, w.host),
          h('td', {}, String(w.pid)),
          h('td', {}, w.version),
          h('td', {}, w.contract_version),
          h('td', { title: w.started_at }, localTime(w.started_at)),
          h('td', { class: 'heartbeat', title: w.last_heartbeat_at }, ago(w.last_heartbeat_at)),
        ),
      ),
    );
  };
  return poll(load, REFRESH_MS, controller, root);
}
