import { writeSync } from 'node:fs';
import type { JobView } from '../api/jobView.js';
import { displayWidth, padEndToWidth } from './displayWidth.js';

/** Where commands print: injectable so tests capture it. */
export interface CliIO {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Raw bytes for live job output. */
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/**
 * Text goes to fd 1/2 with fs.writeSync, on Linux, so a command that only prints a
 * line or two (`submit`, `status`, `cancel`) never creates process.stdout or
 * process.stderr: for a pipe that is a net.Socket on a libuv pipe handle, about 1 ms of
 * a `runbox submit` (bench/NOTES.md, Client commands). Once a command has used the
 * stream of that fd (live logs write to io.stdout) its text goes through the stream
 * too, behind whatever the stream still holds. What writeSync cannot take (a full
 * non-blocking pipe: EAGAIN) goes to the stream from then on, which waits; any other
 * error ends that fd's output (writeFailed).
 */
const streamed = { 1: process.platform !== 'linux', 2: process.platform !== 'linux' };
/**
 * A reader that went away (`runbox ls --json | head -c 300`) ends what this command
 * prints there, as it ends a plain program's: the rest is dropped and the command ends
 * as it would have. Unhandled, the stream's EPIPE crashed runbox with a stack trace.
 * `runbox run` and `logs` listen for it too, to stop their job or their stream.
 */
const readerGone = { 1: false, 2: false };
const guarded = { 1: false, 2: false };
const isReaderGone = (error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
};

/** Exit code of a command whose stdout or stderr failed: sysexits' EX_IOERR. */
export const WRITE_FAILED_EXIT = 74;
let failed = false;

/**
 * A write that fails for another reason (`runbox ls --json > /dev/full`: ENOSPC; EIO)
 * ends that fd's output too, and is said once on stderr: it was rethrown from the
 * stream's 'error' event, a stack trace and exit 1, and `runbox run` died with its
 * container still running. A command that would have succeeded exits 74 instead, so a
 * script does not take a truncated file for a whole one; `run` stops its job as for a
 * reader gone (it listens to the same event) and exits 130.
 */
function writeFailed(fd: 1 | 2, error: unknown): void {
  readerGone[fd] = true;
  if (isReaderGone(error) || failed) return;
  failed = true;
  const { code, message } = error as NodeJS.ErrnoException;
  process.once('exit', () => {
    if (!process.exitCode) process.exitCode = WRITE_FAILED_EXIT;
  });
  const name = fd === 1 ? 'stdout' : 'stderr';
  writeText(2, `runbox: cannot write to ${name} (${code ?? message}); the rest is not printed\n`);
}
const stdStream = (fd: 1 | 2) => {
  const stream = fd === 1 ? process.stdout : process.stderr;
  if (!guarded[fd]) {
    guarded[fd] = true;
    stream.on('error', (error) => writeFailed(fd, error));
  }
  streamed[fd] = true;
  return stream;
};

function writeText(fd: 1 | 2, text: string): void {
  if (readerGone[fd]) return;
  if (streamed[fd]) {
    stdStream(fd).write(text);
    return;
  }
  const bytes = Buffer.from(text);
  let written = 0;
  try {
    while (written < bytes.length) written += writeSync(fd, bytes, written);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // EAGAIN: a full non-blocking pipe, which the stream waits out.
    if (code !== 'EAGAIN') {
      writeFailed(fd, error);
      return;
    }
    stdStream(fd).write(bytes.subarray(written));
  }
}

// Getters: process.stdout/stderr are created on first touch, and only a command that
// streams bytes (logs, outputs) needs them.
export const processIO: CliIO = {
  out: (text) => writeText(1, `${text}\n`),
  err: (text) => writeText(2, `${text}\n`),
  get stdout() {
    return stdStream(1);
  },
  get stderr() {
    return stdStream(2);
  },
};

/* eslint-disable no-control-regex -- these match the control characters on purpose */
/** C0 and C1 controls, DEL, line and paragraph separators, bidirectional overrides. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** What JSON.stringify leaves as it is of UNSAFE. */
const UNSAFE_AFTER_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** UNSAFE but for newline and tab, which a message may hold on purpose. */
const UNSAFE_IN_TEXT =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');
/* eslint-enable no-control-regex */

const escaped = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * A name a job chose (an output's path, a link's target), fit for a terminal: a control
 * character would move the cursor, change colours or forge a line ("x  1 bytes  sha256
 * ok"), a bidirectional override would reorder what is shown. Such a name is printed as
 * a JSON string, quoted, every one of them escaped (\n, \u001b), so it reads unambiguously;
 * any other name is printed as it is.
 */
export function shownName(name: string): string {
  if (!UNSAFE.test(name)) return name;
  return JSON.stringify(name).replace(UNSAFE_AFTER_JSON, escaped);
}

/**
 * A message fit for a terminal. Error messages quote what others chose: an output name
 * from a job's tar, an image name from the engine, a server's own words. An escape
 * sequence among them would recolour, clear or rewrite the terminal (ESC, or the 8-bit
 * CSI U+009B), a bidirectional override reorder the line; each is shown as \uXXXX.
 */
export function shownText(text: string): string {
  return text.replace(UNSAFE_IN_TEXT, escaped);
}

/**
 * Rows of cells in aligned columns, padded by the columns a terminal shows (displayWidth:
 * a CJK name takes two per character). A cell may hold what a job or a server chose (a
 * schedule's last_error, a delivery's error): every control character, newline and tab
 * included, is shown as \uXXXX, so no cell can move the cursor or break the rows.
 */
export function table(cells: string[][]): string {
  const rows = cells.map((r) => r.map((cell) => cell.replace(UNSAFE_ALL, escaped)));
  const widths =
    rows[0]?.map((_, i) => Math.max(...rows.map((r) => displayWidth(r[i] ?? '')))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => padEndToWidth(cell, widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * Attempts started out of the most allowed, with those a drain gave back, which do not
 * count: a `--max-attempts 1` job drained once reads "2/1 (1 drained)", not a broken cap.
 */
export function attemptsText(
  job: Pick<JobView, 'attempts' | 'released_attempts' | 'max_attempts'>,
): string {
  const drained = job.released_attempts > 0 ? ` (${job.released_attempts} drained)` : '';
  return `${job.attempts}/${job.max_attempts}${drained}`;
}

export function describeJob(job: JobView): string {
  const lines = [
    `id:        ${job.id}`,
    `status:    ${job.status}`,
    `attempts:  ${attemptsText(job)}`,
    `created:   ${job.created_at}`,
  ];
  if (job.started_at) lines.push(`started:   ${job.started_at}`);
  if (job.finished_at) lines.push(`finished:  ${job.finished_at}`);
  if (job.result) {
    lines.push(`exit code: ${job.result.exit_code ?? '-'}`);
    lines.push(`duration:  ${job.result.metrics.total_seconds.toFixed(2)} s`);
    if (job.result.outputs.length > 0)
      lines.push(`outputs:   ${job.result.outputs.length} file(s)`);
  }
  if (job.error) lines.push(`error:     ${job.error.type}: ${shownText(job.error.message)}`);
  return lines.join('\n');
}

/**
 * The stderr line where a later attempt's bytes begin (logs -f, submit --follow, run):
 * stdout stays the job's bytes, so this is the only mark of the boundary.
 */
export function attemptBeginsLine(jobId: string, attempt: number): string {
  return `runbox: job ${jobId}: attempt ${attempt} begins (the previous one ended)`;
}
