import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat, truncate } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import type { OutputEntry } from '../../contract/resultSchema.js';
import { RunboxError } from '../../errors/index.js';
import type { ApiClient } from '../client.js';
import type { CliContext, GlobalFlags } from '../context.js';
import { table } from '../output.js';

const PROGRESS_FROM_BYTES = 8 * 1024 * 1024;

function safeTarget(root: string, path: string): string {
  const target = resolve(root, path);
  const rel = relative(root, target);
  if (rel === '' || rel.startsWith('..') || resolve(root, rel) !== target) {
    throw new RunboxError(
      'Internal',
      `server sent output path "${path}" that escapes ${root}; refusing it`,
      { field: 'path' },
    );
  }
  return target;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Downloads one file, resuming a partial one with a Range request, and verifies its
 * sha256. A mismatch truncates nothing: the bad file stays for inspection.
 */
async function download(
  client: ApiClient,
  jobId: string,
  entry: OutputEntry,
  target: string,
  progress: (text: string) => void,
): Promise<'ok' | 'mismatch'> {
  await mkdir(dirname(target), { recursive: true });
  let have = await stat(target).then(
    (s) => s.size,
    () => 0,
  );
  if (have > entry.size) {
    await truncate(target, 0);
    have = 0;
  }
  if (have < entry.size || entry.size === 0) {
    const path = entry.path.split('/').map(encodeURIComponent).join('/');
    const response = await client.fetchOk(`/v1/jobs/${encodeURIComponent(jobId)}/outputs/${path}`, {
      headers: have > 0 ? { range: `bytes=${have}-` } : {},
    });
    const append = response.status === 206;
    const out = createWriteStream(target, { flags: append ? 'a' : 'w' });
    let done = append ? have : 0;
    let lastShown = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      done += chunk.length;
      if (entry.size >= PROGRESS_FROM_BYTES && Date.now() - lastShown > 500) {
        lastShown = Date.now();
        progress(
          `${entry.path}: ${((100 * done) / entry.size).toFixed(1)}% of ${(entry.size / 1048576).toFixed(1)} MiB`,
        );
      }
    }
    await new Promise<void>((r, j) => out.end((error?: Error | null) => (error ? j(error) : r())));
  }
  return (await sha256File(target)) === entry.sha256 ? 'ok' : 'mismatch';
}

export function outputsCommand(ctx: CliContext, setCode: (code: number) => void): CommandModule {
  return {
    command: 'outputs <id>',
    describe:
      "List a job's outputs, or download them (-o DIR), verifying each sha256 and resuming partial files",
    builder: (y) =>
      y
        .positional('id', { type: 'string', demandOption: true })
        .option('output-dir', {
          alias: 'o',
          type: 'string',
          describe: 'Download into this directory',
        })
        .option('file', { type: 'string', describe: 'Only this output path' }),
    handler: async (raw) => {
      const args = raw as unknown as GlobalFlags & {
        id: string;
        outputDir?: string;
        file?: string;
      };
      const client = ctx.client(args);
      const { body } = await client.json<{
        outputs: OutputEntry[];
        skipped: Array<{ path: string; reason: string }>;
      }>('GET', `/v1/jobs/${encodeURIComponent(args.id)}/outputs`);
      let entries = body.outputs;
      if (args.file) {
        entries = entries.filter((e) => e.path === args.file);
        if (entries.length === 0)
          throw new RunboxError('NotFound', `job ${args.id} has no output "${args.file}"`, {
            field: 'file',
          });
      }
      if (!args.outputDir) {
        if (args.json) ctx.io.out(JSON.stringify(body, null, 2));
        else
          ctx.io.out(
            table([
              ['PATH', 'TYPE', 'SIZE', 'SHA256'],
              ...entries.map((e) => [
                e.path,
                e.type,
                String(e.size),
                e.sha256 ?? `-> ${e.link_target}`,
              ]),
            ]),
          );
        return setCode(0);
      }
      const root = resolve(args.outputDir);
      let bad = 0;
      for (const entry of entries) {
        if (entry.type !== 'file') continue;
        const outcome = await download(
          client,
          args.id,
          entry,
          safeTarget(root, entry.path),
          ctx.io.err,
        );
        if (outcome === 'mismatch') {
          bad++;
          ctx.io.err(`runbox: ${entry.path}: sha256 does not match the manifest`);
        } else {
          ctx.io.out(`${entry.path}  ${entry.size} bytes  sha256 ok`);
        }
      }
      setCode(bad > 0 ? 1 : 0);
    },
  };
}
