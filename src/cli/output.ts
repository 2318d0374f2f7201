import type { JobView } from '../api/jobView.js';

/** Where commands print: injectable so tests capture it. */
export interface CliIO {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Raw bytes for live job output. */
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export const processIO: CliIO = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  stdout: process.stdout,
  stderr: process.stderr,
};

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function describeJob(job: JobView): string {
  const lines = [
    `id:        ${job.id}`,
    `status:    ${job.status}`,
    `attempts:  ${job.attempts}/${job.max_attempts}`,
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
  if (job.error) lines.push(`error:     ${job.error.type}: ${job.error.message}`);
  return lines.join('\n');
}
