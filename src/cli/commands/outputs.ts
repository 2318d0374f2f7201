import { createHash } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import type { CommandModule } from 'yargs';
import type { OutputEntry } from '../../contract/resultSchema.js';
import { RunboxError } from '../../errors/index.js';
import { ANSWER_IDLE_MS, type ApiClient } from '../client.js';
import type { CliContext, GlobalFlags } from '../context.js';
import { withJobId, withJson, withServer } from '../flags.js';
import { shownName, table } from '../output.js';
import { bytesText, spinner, type Progress } from '../progress.js';
import {
  Refused,
  existingSize,
  linkInside,
  openForRead,
  openForWrite,
  prepareTarget,
} from '../safeFiles.js';
import { checkOutputDir, makeOutputDir } from '../writeOutputs.js';

async function sha256File(root: string, path: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await openForRead(root, path);
  for await (const chunk of handle.createReadStream()) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A body longer than its manifest entry: no runbox server sends one. */
class Overflow extends Error {}

/**
 * The error for a body longer than the manifest says, once what was written of it is
 * removed: its bytes are not the job's, and resuming from them could never match.
 */
async function overflowed(client: ApiClient, root: string, entry: OutputEntry) {
  await unlink(await prepareTarget(root, entry.path)).catch(() => undefined);
  return new RunboxError(
    'ServerUnavailable',
    `the server at ${client.baseUrl} sent more than the ${entry.size} bytes the manifest gives ` +
      `for output ${shownName(entry.path)} (the partial file is removed); ` +
      'point --server / RUNBOX_SERVER at a runbox server, and run the command again',
    { field: 'server' },
  );
}

/**
 * Downloads one file under root, resuming a partial one with a Range request, and
 * verifies its sha256. A mismatch truncates nothing: the bad file stays for
 * inspection. Never follows a link in root (safeFiles.ts): a link standing at the
 * name, or on the way to it, is refused rather than appended through.
 */
async function download(
  client: ApiClient,
  jobId: string,
  entry: OutputEntry,
  root: string,
  progress: Progress,
): Promise<'ok' | 'mismatch'> {
  let have = await existingSize(root, entry.path);
  if (have > entry.size) {
    await (await openForWrite(root, entry.path, 'truncate')).close();
    have = 0;
  }
  if (have < entry.size || entry.size === 0) {
    const path = entry.path.split('/').map(encodeURIComponent).join('/');
    const response = await client.fetchOk(`/v1/jobs/${encodeURIComponent(jobId)}/outputs/${path}`, {
      headers: have > 0 ? { range: `bytes=${have}-` } : {},
    });
    const append = response.status === 206;
    const out = (
      await openForWrite(root, entry.path, append ? 'append' : 'truncate')
    ).createWriteStream();
    let done = append ? have : 0;
    const chunks = client.chunks(
      response,
      `output ${shownName(entry.path)}`,
      'run the same command again: it resumes the partial file',
      ANSWER_IDLE_MS,
    );
    const finish = () =>
      new Promise<void>((r, j) => out.end((error?: Error | null) => (error ? j(error) : r())));
    try {
      for await (const chunk of chunks) {
        // Nothing past the manifest's size is written: a server sending a body without
        // end filled the disk before the sha256 could be checked.
        if (done + chunk.length > entry.size) throw new Overflow();
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
        done += chunk.length;
        progress.update(`${shownName(entry.path)}: ${bytesText(done, entry.size)}`);
      }
    } catch (error) {
      // What arrived is written out before the error ends the process, so the next run
      // resumes from it rather than from what happened to be flushed.
      await finish().catch(() => undefined);
      if (error instanceof Overflow) throw await overflowed(client, root, entry);
      throw error;
    }
    await finish();
  }
  return (await sha256File(root, entry.path)) === entry.sha256 ? 'ok' : 'mismatch';
}

/** What became of one entry: written and verified, linked, or refused (not an error). */
type Outcome = 'ok' | 'mismatch' | 'linked' | Refused;

/** A Refused as its outcome; any other error still throws. */
function settle<T extends Outcome>(work: Promise<T>): Promise<T | Refused> {
  return work.catch((error: unknown) => {
    if (error instanceof Refused) return error;
    throw error;
  });
}

/**
 * Files fetched at once. One request each: a job's many small outputs went one round
 * trip after another (5,000 files of a few bytes took ~34 s), where a few in flight keep
 * the server busy while each answer is written and hashed here.
 */
const DOWNLOADS_AT_ONCE = 8;

/**
 * Runs `work` over the items, DOWNLOADS_AT_ONCE at a time, and reports each outcome in
 * the items' order (the lines read as the manifest does). The first error stops taking
 * new items; the ones in flight finish, then it is thrown.
 */
async function inOrder<T, R>(
  items: readonly T[],
  work: (item: T) => Promise<R>,
  report: (item: T, outcome: R) => void,
): Promise<void> {
  const outcomes: Array<{ value: R } | undefined> = [];
  let next = 0;
  let reported = 0;
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (failure === null && next < items.length) {
      const at = next++;
      try {
        outcomes[at] = { value: await work(items[at]!) };
      } catch (error) {
        failure ??= { error };
        return;
      }
      for (let done = outcomes[reported]; done; done = outcomes[reported]) {
        report(items[reported]!, done.value);
        reported += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(DOWNLOADS_AT_ONCE, items.length) }, worker));
  if (failure) throw (failure as { error: unknown }).error;
}

export function outputsCommand(ctx: CliContext, setCode: (code: number) => void): CommandModule {
  return {
    command: 'outputs <id>',
    describe: "List a job's outputs, or download them (-o DIR)",
    builder: (y) =>
      withJobId(withJson(withServer(y)))
        .epilogue(
          'Downloads resume a partial file with a Range request and check every sha256; ' +
            'a mismatch keeps the file for inspection and exits 79 (ChecksumMismatch).',
        )
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
      }>('GET', `/v1/jobs/${encodeURIComponent(args.id)}/outputs`, undefined, 'outputs');
      let entries = body.outputs;
      if (args.file) {
        entries = entries.filter((e) => e.path === args.file);
        const skipped = body.skipped.find((o) => o.path === args.file);
        if (entries.length === 0)
          throw new RunboxError(
            'NotFound',
            skipped
              ? `job ${args.id}'s "${args.file}" was skipped when its outputs were collected (${skipped.reason}): only files are stored`
              : `job ${args.id} has no output "${args.file}"`,
            { field: 'file' },
          );
      }
      if (!args.outputDir) {
        if (args.json) ctx.io.out(JSON.stringify(body, null, 2));
        else
          ctx.io.out(
            table([
              ['PATH', 'TYPE', 'SIZE', 'SHA256'],
              ...entries.map((e) => [
                shownName(e.path),
                e.type,
                String(e.size),
                e.sha256 ?? `-> ${shownName(e.link_target ?? '')}`,
              ]),
            ]),
          );
        return setCode(0);
      }
      checkOutputDir(args.outputDir);
      const root = await makeOutputDir(args.outputDir);
      const bad: string[] = [];
      const refused: string[] = [];
      const downloaded: Array<{ path: string; size: number; sha256: string | null }> = [];
      const report = (entry: OutputEntry, outcome: Outcome) => {
        if (outcome === 'mismatch') bad.push(entry.path);
        else if (outcome === 'ok') {
          downloaded.push({ path: entry.path, size: entry.size, sha256: entry.sha256 });
          if (!args.json) ctx.io.out(`${shownName(entry.path)}  ${entry.size} bytes  sha256 ok`);
        } else if (outcome !== 'linked') {
          // A link the job made that leaves the folder is expected hostile input, not
          // a failed download; a file that could not be written is.
          if (entry.type === 'file') refused.push(entry.path);
          ctx.io.err(`runbox: warning: ${outcome.message}`);
        }
      };
      const progress = spinner(ctx.io, 'downloading outputs');
      try {
        const files = entries.filter((e) => e.type !== 'symlink');
        await inOrder(
          files,
          (entry) => settle(download(client, args.id, entry, root, progress)),
          report,
        );
        // Links after every file, one at a time: whether a link stays inside DIR is
        // checked against the links already on disk, which must not change meanwhile.
        for (const entry of entries) {
          if (entry.type !== 'symlink') continue;
          const outcome = await settle(
            linkInside(root, entry.path, entry.link_target ?? '').then(() => 'linked' as const),
          );
          report(entry, outcome);
        }
      } finally {
        progress.stop();
      }
      if (bad.length > 0) {
        throw new RunboxError(
          'ChecksumMismatch',
          `${bad.map(shownName).join(', ')}: sha256 does not match the manifest (kept in ${root} for inspection; ` +
            'delete the file and run again to download it afresh)',
          { field: bad[0] ?? null },
        );
      }
      if (args.json) {
        ctx.io.out(JSON.stringify({ downloaded, refused, directory: root }, null, 2));
      }
      // A file that would have been written through a link out of DIR is not an error of
      // the download: the rest is there, and the warnings said what was refused.
      setCode(refused.length > 0 ? 1 : 0);
    },
  };
}
