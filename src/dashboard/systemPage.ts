import { getJson } from './api.js';
import { ago, badge, h, localTime } from './dom.js';
import { poll } from './jobsPage.js';
import type { Contract, Health, QueueView, Worker } from './types.js';

const REFRESH_MS = 2000;

/** The named queues, workers with their heartbeats, the result contract, the version. */
export function systemPage(root: HTMLElement): () => void {
  const controller = new AbortController();
  const about = h('section', { class: 'card', id: 'about' });
  const workers = h('tbody', {});
  const queues = h('tbody', {});
  root.replaceChildren(
    about,
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Queues'),
      h(
        'table',
        { class: 'queues', id: 'queues' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...[
              'queue',
              'due',
              'scheduled',
              'running',
              'oldest waiting',
              'nodes serving',
              'slots',
            ].map((t) => h('th', {}, t)),
          ),
        ),
        queues,
      ),
    ),
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
    const [health, contract, list, named] = await Promise.all([
      getJson<Health>('healthz', controller.signal).catch(() => null),
      getJson<Contract>('v1/contract', controller.signal),
      getJson<{ workers: Worker[] }>('v1/workers', controller.signal),
      getJson<{ queues: QueueView[] }>('v1/queues', controller.signal),
    ]);
    // Queue names are submitters' text: textContent only (h), like everything here.
    queues.replaceChildren(
      ...named.queues.map((q) =>
        h(
          'tr',
          { 'data-queue': q.name },
          h('td', { class: 'id' }, q.name),
          // Due apart from scheduled: "waiting" counted jobs whose run_at had not come.
          h('td', { class: 'due' }, String(q.due)),
          h('td', { class: 'scheduled' }, String(q.scheduled)),
          h('td', { class: 'running' }, String(q.running)),
          h('td', { class: 'oldest', title: q.oldest_due_at ?? '' }, ago(q.oldest_due_at)),
          h('td', { class: 'workers' }, String(q.workers)),
          h('td', { class: 'slots' }, String(q.slots)),
        ),
      ),
    );
    if (named.queues.length === 0) {
      queues.replaceChildren(
        h(
          'tr',
          {},
          h(
            'td',
            { colspan: '7', class: 'empty' },
            'No jobs waiting or running, no worker serving.',
          ),
        ),
      );
    }
    about.replaceChildren(
      h('h2', {}, 'This runbox'),
      h(
        'dl',
        {},
        h('dt', {}, 'version'),
        h('dd', { id: 'version' }, health?.version ?? '—'),
        h('dt', {}, 'Docker engine'),
        h('dd', {}, health?.engine ?? '—'),
        h('dt', {}, 'data disk'),
        h('dd', { id: 'disk' }, health?.disk ?? '—'),
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
