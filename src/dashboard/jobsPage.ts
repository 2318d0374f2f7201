import { getJson } from './api.js';
import { activityChart } from './chart.js';
import { ago, badge, duration, h } from './dom.js';
import { STATUSES, type Activity, type Job, type JobList, type QueueView } from './types.js';

const PAGE_SIZE = 25;
const REFRESH_MS = 3000;

function what(job: Job): string {
  const s = job.spec;
  if (s.script?.path) return `${s.runtime ?? s.image ?? ''} ${s.script.path}`.trim();
  if (s.command) return s.command.join(' ');
  return s.runtime ?? s.image ?? '';
}

/** The jobs list: status filter, search by id, cursor paging, refreshed while open. */
export function jobsPage(root: HTMLElement, params: URLSearchParams): () => void {
  const status = params.get('status') ?? '';
  const cursor = params.get('cursor') ?? '';
  // Cursors of the pages before this one, so "newer" goes back without a reverse query.
  const back = params.get('back')?.split(',').filter(Boolean) ?? [];
  const link = (next: Record<string, string>) => {
    const q = new URLSearchParams(next);
    for (const [k, v] of [...q]) if (!v) q.delete(k);
    return `#/jobs?${q.toString()}`;
  };

  const chart = h('section', { class: 'card', id: 'activity' }, h('h2', {}, 'Last hour'));
  const search = h('input', {
    type: 'search',
    id: 'search',
    placeholder: 'job id',
    'aria-label': 'Find a job by id',
    autocomplete: 'off',
  });
  const filters = h(
    'nav',
    { class: 'filters', 'aria-label': 'Status' },
    ...['', ...STATUSES].map((s) =>
      h(
        'a',
        {
          href: link({ status: s }),
          class: s === status ? 'active' : '',
          'data-filter': s || 'all',
        },
        s || 'all',
      ),
    ),
  );
  const table = h('tbody', {});
  const pager = h('nav', { class: 'pager' });
  root.replaceChildren(
    chart,
    h(
      'section',
      { class: 'card' },
      h(
        'div',
        { class: 'toolbar' },
        filters,
        h(
          'form',
          {
            class: 'search',
            onsubmit: ((e: Event) => {
              e.preventDefault();
              const id = search.value.trim();
              if (id) location.hash = `#/jobs/${encodeURIComponent(id)}`;
            }) as EventListener,
          },
          search,
          h('button', { type: 'submit' }, 'Open'),
        ),
      ),
      h(
        'table',
        { class: 'jobs' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'id'),
            h('th', {}, 'status'),
            h('th', {}, 'what'),
            h('th', {}, 'submitted'),
            h('th', {}, 'took'),
            h('th', {}, 'attempts'),
          ),
        ),
        table,
      ),
      pager,
    ),
  );

  const controller = new AbortController();
  const load = async () => {
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (status) q.set('status', status);
    if (cursor) q.set('cursor', cursor);
    const [list, activity, named] = await Promise.all([
      getJson<JobList>(`v1/jobs?${q.toString()}`, controller.signal),
      getJson<Activity>('v1/activity', controller.signal),
      getJson<{ queues: QueueView[] }>('v1/queues', controller.signal),
    ]);
    const waiting = {
      due: named.queues.reduce((n, queue) => n + queue.due, 0),
      scheduled: named.queues.reduce((n, queue) => n + queue.scheduled, 0),
    };
    chart.replaceChildren(h('h2', {}, 'Last hour'), activityChart(activity, waiting));
    table.replaceChildren(
      ...list.jobs.map((job) =>
        h(
          'tr',
          { 'data-job': job.id },
          h(
            'td',
            {},
            h('a', { href: `#/jobs/${encodeURIComponent(job.id)}`, class: 'id' }, job.id),
          ),
          h('td', {}, badge(job.status)),
          h('td', { class: 'what' }, what(job)),
          h('td', { title: job.created_at }, ago(job.created_at)),
          h('td', {}, duration(job.started_at, job.finished_at)),
          h('td', {}, attemptsText(job, '/')),
        ),
      ),
    );
    if (list.jobs.length === 0)
      table.replaceChildren(h('tr', {}, h('td', { colspan: '6', class: 'empty' }, 'No jobs.')));
    const prev = back.slice(0, -1);
    pager.replaceChildren(
      cursor
        ? h(
            'a',
            {
              href: link({ status, cursor: back[back.length - 1] ?? '', back: prev.join(',') }),
              id: 'newer',
            },
            '← newer',
          )
        : h('span', {}),
      list.next_cursor
        ? h(
            'a',
            {
              href: link({ status, cursor: list.next_cursor, back: [...back, cursor].join(',') }),
              id: 'older',
            },
            'older →',
          )
        : h('span', {}),
    );
  };
  return poll(load, REFRESH_MS, controller, root);
}

/**
 * Runs load now and every `ms` until the returned stop is called. A failed load goes to
 * onError and the polling goes on: a server that restarts or a dropped connection must
 * not leave the page frozen until it is reloaded. A load that succeeds again says so
 * (runbox-ok), which clears the error shown.
 */
export function poll(
  load: () => Promise<void>,
  ms: number,
  controller: AbortController,
  root: HTMLElement,
): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = () => {
    load()
      .then(
        () => {
          if (!controller.signal.aborted)
            root.dispatchEvent(new CustomEvent('runbox-ok', { bubbles: true }));
        },
        (error: unknown) => {
          if (controller.signal.aborted) return;
          root.dispatchEvent(new CustomEvent('runbox-error', { detail: error, bubbles: true }));
        },
      )
      .finally(() => {
        // The error handler may have stopped this page (a login is needed): no next tick.
        if (!controller.signal.aborted) timer = setTimeout(tick, ms);
      });
  };
  tick();
  return () => {
    controller.abort();
    clearTimeout(timer);
  };
}

/** Attempts started of the most allowed, with those a drain gave back (they do not count). */
export function attemptsText(job: Job, of: string): string {
  const drained = job.released_attempts > 0 ? ` (${job.released_attempts} drained)` : '';
  return `${job.attempts}${of}${job.max_attempts}${drained}`;
}
