import { h, svg } from './dom.js';
import type { Activity } from './types.js';

const W = 600;
const H = 120;
const PAD = 4;

/**
 * Queue depth (line) and jobs finished per minute (bars: succeeded, failed, cancelled
 * stacked) over the last hour, as inline SVG: no chart library, nothing to load.
 * The caption says what waits now as GET /v1/queues does: jobs due, apart from those
 * scheduled for later. It said "queued now" with both in one number, which an operator
 * read as a backlog while most of it was jobs whose run_at had not come.
 */
export function activityChart(
  activity: Activity,
  waiting: { due: number; scheduled: number },
): HTMLElement {
  const buckets = activity.buckets;
  const finished = buckets.map((b) => b.succeeded + b.failed + b.cancelled);
  const top = Math.max(1, ...finished, ...buckets.map((b) => b.queued));
  const n = Math.max(1, buckets.length);
  const bw = (W - 2 * PAD) / n;
  const y = (v: number) => H - PAD - (v / top) * (H - 2 * PAD);
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    // Stretched to the card's width; the line keeps its width (vector-effect in the CSS).
    preserveAspectRatio: 'none',
    class: 'chart',
    role: 'img',
    'aria-label': 'Queue depth and throughput, last hour',
  });
  buckets.forEach((b, i) => {
    let base = 0;
    for (const kind of ['succeeded', 'failed', 'cancelled'] as const) {
      const v = b[kind];
      if (v === 0) continue;
      const rect = svg('rect', {
        x: PAD + i * bw + 0.5,
        y: y(base + v),
        width: Math.max(1, bw - 1),
        height: y(base) - y(base + v),
        class: `bar ${kind}`,
      });
      const title = svg('title', {});
      title.textContent = `${new Date(b.start).toLocaleTimeString()}: ${v} ${kind}`;
      rect.append(title);
      root.append(rect);
      base += v;
    }
  });
  const points = buckets.map((b, i) => `${PAD + (i + 0.5) * bw},${y(b.queued)}`).join(' ');
  root.append(svg('polyline', { points, class: 'depth' }));
  const perHour = finished.reduce((a, b) => a + b, 0);
  const submitted = buckets.reduce((a, b) => a + b.submitted, 0);
  return h(
    'figure',
    { class: 'activity' },
    root,
    h(
      'figcaption',
      {},
      h('span', { class: 'key depth' }, `due now: ${waiting.due}`),
      h('span', { class: 'key' }, `scheduled for later: ${waiting.scheduled}`),
      h(
        'span',
        { class: 'key finished', 'data-finished-hour': String(perHour) },
        `finished in the last hour: ${perHour}`,
      ),
      h('span', { class: 'key' }, `submitted: ${submitted}`),
      h('span', { class: 'key' }, `peak: ${top}`),
    ),
  );
}
