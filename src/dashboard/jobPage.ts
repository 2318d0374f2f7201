import { ApiError, getJson, jobPath, outputUrl, postJson, request } from './api.js';
import { badge, bytes, duration, h, localTime, visibleControls } from './dom.js';
import { attemptsText, poll } from './jobsPage.js';
import { FINAL, type Job } from './types.js';

const REFRESH_MS = 1000;
/** Shown in the page at most; the whole log is a download away. */
const LOG_SHOWN_BYTES = 2 * 1024 * 1024;

type Stream = 'stdout' | 'stderr';

/**
 * Streams a log into `pre` as it arrives: the API's follow=true answer stays open while
 * the job runs and ends when it is recorded. Bytes are decoded as UTF-8 for display only
 * (a job's log need not be UTF-8; invalid bytes show as U+FFFD, the download is exact).
 */
async function followLog(
  id: string,
  stream: Stream,
  pre: HTMLElement,
  state: HTMLElement,
  signal: AbortSignal,
): Promise<void> {
  const answer = await request(`${jobPath(id)}/logs?stream=${stream}&follow=true`, {}, signal);
  const reader = answer.body!.getReader();
  const decoder = new TextDecoder();
  let shown = 0;
  // Scrolling to the end reads scrollHeight, a layout of the whole log so far: once a
  // frame, not once a chunk, so the loop that has to reach 2 MiB and stop the transfer
  // does not spend its time laying out while the log's bytes keep coming.
  let scrolling = false;
  const scrollToEnd = () => {
    scrolling = false;
    pre.scrollTop = pre.scrollHeight;
  };
  state.textContent = 'following';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const part = value.subarray(0, LOG_SHOWN_BYTES - shown);
    shown += part.length;
    pre.append(visibleControls(decoder.decode(part, { stream: true })));
    if (!scrolling) {
      scrolling = true;
      requestAnimationFrame(scrollToEnd);
    }
    if (shown >= LOG_SHOWN_BYTES) {
      // Nothing past this is shown: stop the transfer, or the page pulls the rest of the
      // log (up to limits.log_bytes, 64 MiB by default) and follows it for nothing.
      await reader.cancel();
      pre.append(
        visibleControls(decoder.decode()),
        '\n… (shown up to 2 MiB: download for the rest)',
      );
      state.textContent = 'first 2 MiB';
      pre.dataset.complete = 'true';
      return;
    }
  }
  pre.append(visibleControls(decoder.decode()));
  state.textContent = 'complete';
  pre.dataset.complete = 'true';
}

function dl(rows: Array<[string, Node | string]>): HTMLElement {
  return h('dl', {}, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function json(value: unknown): HTMLElement {
  return h('pre', { class: 'json' }, JSON.stringify(value, null, 2));
}

/** One job: spec (secret values come masked from the API), result, logs, outputs, cancel. */
export function jobPage(root: HTMLElement, id: string): () => void {
  const controller = new AbortController();
  const shownId = h('code', { id: 'job-id' }, id);
  const title = h('h1', {}, 'Job ', shownId, ' ');
  const status = h('span', { id: 'job-status' });
  const cancel = h('button', { id: 'cancel', class: 'danger', hidden: true }, 'Cancel');
  const message = h('p', { class: 'message', id: 'job-message' });
  const summary = h('section', { class: 'card', id: 'summary' });
  const stages = h('section', { class: 'card', id: 'stages' });
  const outputs = h('section', { class: 'card', id: 'outputs' });
  const spec = h('section', { class: 'card', id: 'spec' });
  const result = h('section', { class: 'card', id: 'result' });
  const logs = (['stdout', 'stderr'] as const).map((stream) => {
    const pre = h('pre', { class: 'log', id: `log-${stream}` });
    const state = h('span', { class: 'log-state' }, 'waiting');
    const section = h(
      'section',
      { class: 'card log-card' },
      h(
        'h2',
        {},
        stream,
        ' ',
        state,
        ' ',
        h(
          'a',
          { href: `${jobPath(id)}/logs?stream=${stream}`, download: `${id}.${stream}` },
          'download',
        ),
      ),
      pre,
    );
    return { stream, pre, state, section };
  });
  title.append(status, ' ', cancel);
  root.replaceChildren(
    h('p', {}, h('a', { href: '#/jobs' }, '← jobs')),
    title,
    message,
    h('div', { class: 'grid' }, summary, stages),
    h('div', { class: 'grid' }, ...logs.map((l) => l.section)),
    outputs,
    h('div', { class: 'grid' }, spec, result),
  );

  cancel.addEventListener('click', () => {
    cancel.disabled = true;
    postJson<Job>(`${jobPath(id)}/cancel`).then(
      () => {
        message.textContent = 'Cancel requested.';
      },
      (error: unknown) => {
        cancel.disabled = false;
        message.textContent = visibleControls(
          error instanceof Error ? error.message : String(error),
        );
      },
    );
  });

  // Logs being followed; one whose answer broke off (server restarted, connection lost)
  // leaves the set and is read again from its start by the next load that succeeds.
  const following = new Set<Stream>();
  let shownFinal = false;
  const load = async () => {
    if (shownFinal && following.size === logs.length) return;
    let job: Job;
    try {
      job = await getJson<Job>(`${jobPath(id)}/brief`, controller.signal);
    } catch (error) {
      // 400: the API refused the id itself (too long, odd characters); no such job either,
      // and asking again every second would not change that.
      if (error instanceof ApiError && (error.status === 404 || error.status === 400)) {
        root.replaceChildren(
          h('p', {}, h('a', { href: '#/jobs' }, '← jobs')),
          h('p', { class: 'message', id: 'not-found' }, `No job with id "${id}".`),
        );
        controller.abort();
        return;
      }
      throw error;
    }
    // The id as stored: one typed in lower case (ULIDs read in any case) was shown as
    // typed, and named the downloaded logs so.
    if (shownId.textContent !== job.id) {
      shownId.textContent = job.id;
      for (const l of logs) {
        l.section.querySelector('a[download]')?.setAttribute('download', `${job.id}.${l.stream}`);
      }
    }
    status.replaceChildren(badge(job.status));
    cancel.hidden = FINAL.has(job.status);
    summary.replaceChildren(
      h('h2', {}, 'Summary'),
      dl([
        ['submitted', localTime(job.created_at)],
        ['started', localTime(job.started_at)],
        ['finished', localTime(job.finished_at)],
        ['took', duration(job.started_at, job.finished_at)],
        ['attempts', attemptsText(job, ' of ')],
        ['priority', String(job.priority)],
        ['contract', job.contract_version ?? '—'],
        [
          'exit code',
          job.result?.exit_code === null || !job.result ? '—' : String(job.result.exit_code),
        ],
        ['error', job.error ? `${job.error.type}: ${job.error.message}` : '—'],
      ]),
    );
    const times = job.result?.metrics?.stage_times ?? {};
    stages.replaceChildren(
      h('h2', {}, 'Stage times'),
      Object.keys(times).length === 0
        ? h('p', { class: 'empty' }, FINAL.has(job.status) ? 'none recorded' : 'once it ends')
        : h(
            'table',
            { class: 'stages' },
            h(
              'tbody',
              {},
              ...Object.entries(times).map(([stage, s]) =>
                h(
                  'tr',
                  { 'data-stage': stage },
                  h('th', {}, stage),
                  h('td', {}, `${s.toFixed(3)} s`),
                ),
              ),
            ),
          ),
    );
    spec.replaceChildren(h('h2', {}, 'Spec'), json(job.spec));
    result.replaceChildren(
      h('h2', {}, 'Result'),
      job.result ? json(job.result) : h('p', { class: 'empty' }, '—'),
    );
    const files = job.result?.outputs ?? [];
    outputs.replaceChildren(
      ...[
        h('h2', {}, 'Outputs'),
        files.length === 0
          ? h('p', { class: 'empty' }, FINAL.has(job.status) ? 'none' : 'once it ends')
          : h(
              'table',
              { class: 'outputs' },
              h(
                'tbody',
                {},
                ...files.map((f) =>
                  h(
                    'tr',
                    {},
                    h(
                      'td',
                      {},
                      f.type === 'file'
                        ? h(
                            'a',
                            {
                              href: outputUrl(id, f.path),
                              download: f.path.split('/').pop() ?? f.path,
                              class: 'output',
                            },
                            f.path,
                          )
                        : `${f.path} → ${f.link_target ?? ''}`,
                    ),
                    h('td', {}, bytes(f.size)),
                    h('td', { class: 'hash' }, f.sha256?.slice(0, 12) ?? ''),
                  ),
                ),
              ),
            ),
        files.length > 0
          ? h(
              'p',
              {},
              h(
                'a',
                { href: `${jobPath(id)}/outputs.tar.zst`, download: `${id}.tar.zst` },
                'all as .tar.zst',
              ),
            )
          : '',
      ].filter((n) => n !== ''),
    );
    for (const log of logs) {
      if (following.has(log.stream)) continue;
      following.add(log.stream);
      log.pre.replaceChildren();
      delete log.pre.dataset.complete;
      followLog(id, log.stream, log.pre, log.state, controller.signal).catch((error: unknown) => {
        if (controller.signal.aborted) return;
        log.state.textContent = visibleControls(`failed: ${String(error)}`);
        following.delete(log.stream);
      });
    }
    if (FINAL.has(job.status)) shownFinal = true;
  };
  return poll(load, REFRESH_MS, controller, root);
}
