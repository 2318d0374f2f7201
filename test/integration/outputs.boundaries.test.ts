import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import { expectNoLeftoverContainers } from '../helpers/leftovers.js';
import {
  startServerProcess,
  writeTestConfig,
  type RunboxProcess,
} from '../helpers/serverProcess.js';
import { TEST_INSTANCE } from '../helpers/testConfig.js';
import {
  hashBody,
  http,
  runbox,
  sha256,
  shellJob,
  streamHttp,
  submit,
  waitFinal,
  zstdDecode,
} from './outputsKit.js';

/**
 * Large outputs are read from the host folder into 256 KiB chunks whose memory is reused
 * once the frame compressor has copied their bytes (fileChunks.ts, recycledInput.ts): a
 * chunk reused too early would store other bytes than the job wrote, under a sha256
 * computed from the right ones. Four jobs at once on one serve with one compression
 * thread (two lanes, so frames wait with copies of their own) each write files at and
 * around every boundary: the whole-read limit and the read chunk (256 KiB), the frame
 * (300,007 bytes here) and the default frame's 1 MiB; random, compressible and mixed;
 * under names with spaces, non-ASCII and an invalid UTF-8 byte. The job prints the
 * sha256 of each file; every download route must give those bytes back. (A compressor
 * that gave a chunk back as soon as its last byte was in a frame still being filled
 * failed here, through `outputs -o`'s ChecksumMismatch, in 25 s.)
 */

const KiB = 1024;
const MiB = 1024 * KiB;
/**
 * Not a multiple of the chunk: a frame holds a whole chunk and pieces of its neighbours,
 * so a chunk's bytes wait in the compressor while the next chunks are read.
 */
const FRAME = 300_007;
const CHUNK = 256 * KiB;
const JOBS = 4;

const SIZES = [
  0,
  1,
  CHUNK,
  CHUNK + 1,
  FRAME - 1,
  FRAME,
  FRAME + 1,
  2 * CHUNK - 1,
  5 * FRAME - 1,
  5 * FRAME + 1,
  MiB - 1,
  MiB,
  MiB + 1,
  3 * MiB + 12_345,
];
const KINDS = ['random', 'text', 'mixed'] as const;
/** printf formats: a space, non-ASCII, an invalid UTF-8 byte (decoded as U+FFFD). */
const NAMES = ['plain', 'with space', 'ünï ☃', 'bad\\377byte'];

interface Planned {
  id: string;
  size: number;
}

/** One job's script: each file written, then `SHA <sha256> <id>` printed for it. */
function jobScript(job: number): { script: string; files: Planned[] } {
  const lines = [
    'set -e',
    'cd "$RUNBOX_OUTPUTS"',
    'mk() {',
    '  n=$(printf "$1")',
    '  case $3 in',
    '    random) head -c $2 /dev/urandom > "$n" ;;',
    '    text) yes "line $2 $1" | head -c $2 > "$n" ;;',
    // Runs of random and compressible bytes: frames of very different compressed sizes.
    '    mixed) { while :; do head -c 70001 /dev/urandom; yes z | head -c 90001; done; } | head -c $2 > "$n" ;;',
    '  esac',
    '  echo "SHA $(sha256sum < "$n" | cut -c1-64) $4"',
    '}',
  ];
  const files: Planned[] = [];
  const add = (size: number, kind: string) => {
    const id = `j${job}f${String(files.length).padStart(2, '0')}`;
    files.push({ id, size });
    lines.push(`mk '${id} ${NAMES[files.length % NAMES.length]} ${kind}' ${size} ${kind} ${id}`);
  };
  SIZES.forEach((size, i) => add(size, KINDS[(i + job) % KINDS.length]!));
  // The large one: many chunks and frames while the other jobs' frames take the lanes.
  add(8 * MiB + 7 * job + 3, 'random');
  add(3 * MiB + job, 'mixed');
  return { script: lines.join('\n'), files };
}

/** The job's own hashes, by file id. */
function printedHashes(stdout: string): Map<string, string> {
  return new Map([...stdout.matchAll(/^SHA ([0-9a-f]{64}) (\S+)$/gm)].map((m) => [m[2]!, m[1]!]));
}

/** `GET .../outputs.tar.zst` through `zstd -d | tar -x` into `dir`. */
async function extractArchive(url: string, dir: string): Promise<void> {
  const { status } = await streamHttp(url, {}, async (response) => {
    const untar = spawn('sh', ['-c', `zstd -d -q | tar -x -C "$0"`, dir], {
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    response.pipe(untar.stdin);
    const code = await new Promise<number | null>((resolve) => untar.on('close', resolve));
    expect(code, 'zstd -d | tar -x').toBe(0);
  });
  expect(status).toBe(200);
}

/** Files in `dir` by the id their name starts with. */
function byId(dir: string): Map<string, string> {
  return new Map(readdirSync(dir).map((name) => [name.split(' ')[0]!, join(dir, name)]));
}

describe('outputs at every size boundary, four large jobs at once, read back every way', () => {
  let server: RunboxProcess;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'runbox-boundaries-'));
    const configFile = writeTestConfig(dataDir, {
      zstd: { codec: 'native', level: 3, frameBytes: FRAME, threads: 1 },
    });
    server = await startServerProcess({ dataDir, configFile, workers: JOBS });
  });
  afterAll(async () => {
    server?.kill('SIGTERM');
    await server?.exited;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('stores the bytes each job wrote: manifest, file route (identity, zstd, ranges at frame edges), tar.zst and outputs -o agree with its sha256sum', async () => {
    const url = server.url;
    const planned = Array.from({ length: JOBS }, (_, job) => jobScript(job));
    const ids = await Promise.all(planned.map(({ script }) => submit(url, shellJob(script))));
    const jobs: JobView[] = await Promise.all(ids.map((id) => waitFinal(url, id, 200_000)));

    // The jobs' downloads at once, as their clients would: the server reads four blobs together.
    await Promise.all(
      jobs.map(async (job, index) => {
        expect(job.status, JSON.stringify(job.result?.error)).toBe('succeeded');
        const { files } = planned[index]!;
        const stdout = (await http(`${url}/v1/jobs/${job.id}/logs?stream=stdout`)).body.toString();
        const printed = printedHashes(stdout);
        expect(printed.size).toBe(files.length);

        const manifest = job.result!.outputs;
        const want = new Map(
          files.map((f) => [f.id, { size: f.size, sha256: printed.get(f.id)! }]),
        );
        expect(
          new Map(manifest.map((o) => [o.path.split(' ')[0]!, { size: o.size, sha256: o.sha256 }])),
        ).toEqual(want);
        expect(manifest.some((o) => o.path.includes('\uFFFD'))).toBe(true);

        const tarDir = mkdtempSync(join(dataDir, 'tar-'));
        await extractArchive(`${url}/v1/jobs/${job.id}/outputs.tar.zst`, tarDir);
        const cliDir = join(dataDir, `cli-${index}`);
        const cli = await runbox(url, ['outputs', job.id, '-o', cliDir], 90_000);
        expect(cli.code, cli.stderr).toBe(0);
        const fromTar = byId(tarDir);
        const fromCli = byId(cliDir);

        for (const output of manifest) {
          const id = output.path.split(' ')[0]!;
          const { size, sha256: expected } = want.get(id)!;
          const where = `${JSON.stringify(output.path)} (${size} bytes)`;
          const fileUrl = `${url}/v1/jobs/${job.id}/outputs/${encodeURIComponent(output.path)}`;
          const plain = await streamHttp(fileUrl, {}, hashBody);
          expect(plain.result, `identity ${where}`).toEqual({ sha256: expected, bytes: size });
          const stored = await http(fileUrl, { headers: { 'accept-encoding': 'zstd' } });
          expect(stored.headers['content-encoding'], where).toBe('zstd');
          expect(sha256(await zstdDecode(stored.body)), `zstd ${where}`).toBe(expected);
          const onDisk = readFileSync(fromTar.get(id)!);
          expect(sha256(onDisk), `tar.zst ${where}`).toBe(expected);
          expect(sha256(readFileSync(fromCli.get(id)!)), `outputs -o ${where}`).toBe(expected);

          // Ranges straddling frame and chunk edges, checked against the verified copy.
          const edges = new Set<number>([size - 1]);
          for (const unit of [FRAME, CHUNK, MiB]) {
            for (let k = 1; k <= 3 && k * unit <= size; k++) edges.add(k * unit);
          }
          for (const edge of edges) {
            const start = Math.max(0, edge - 2);
            const end = Math.min(size - 1, edge + 1);
            if (start > end) continue;
            const part = await http(fileUrl, { headers: { range: `bytes=${start}-${end}` } });
            expect(part.status, `range ${start}-${end} of ${where}`).toBe(206);
            expect(
              part.body.equals(onDisk.subarray(start, end + 1)),
              `range ${start}-${end} of ${where}`,
            ).toBe(true);
          }
        }
        rmSync(tarDir, { recursive: true });
        rmSync(cliDir, { recursive: true });
      }),
    );

    await expectNoLeftoverContainers(TEST_INSTANCE);
    expect(readdirSync(join(dataDir, 'scratch'))).toEqual([]);
    expect(readdirSync(join(dataDir, 'blobs', 'tmp'))).toEqual([]);
    // 33-56 s measured with the two cores at a load of 10-12; the timeout leaves room.
  }, 300_000);
});
