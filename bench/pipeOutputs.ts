// Profile helper (not a bench case): the outputs path of one large file without the
// engine: a tar stream of BENCH_OUTPUT_MIB (256) MiB of base64 text, in fresh 64 KiB
// chunks as a socket delivers them, through readTar -> FileBlobStore.put (hash, frames,
// CompressPool, file). Prints CPU-seconds per GiB of each thread of this process, wall
// time and peak RSS. `npx tsx bench/pipeOutputs.ts`; RUNBOX_ZSTD_THREADS picks threads.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { readTar } from '../src/executor/tarReader.js';
import { FileBlobStore } from '../src/storage/fs/FileBlobStore.js';
import { selectZstdCodec } from '../src/storage/zstd/selectCodec.js';

const mib = Number(process.env.BENCH_OUTPUT_MIB ?? 256);
const threads = Number(process.env.RUNBOX_ZSTD_THREADS ?? 2);
const bytes = mib * 2 ** 20;
const CHUNK = 64 * 1024;
const text = Buffer.from(
  randomBytes(((((((48 * 2 ** 20) / 4) * 3) / 4) * 4) / 3) | 0).toString('base64'),
);

function header(size: number): Buffer {
  const block = Buffer.alloc(512);
  block.write('outputs/f', 0);
  block.write('0000644\0', 100);
  block.write('0000000\0', 108);
  block.write('0000000\0', 116);
  block.write(size.toString(8).padStart(11, '0') + '\0', 124);
  block.write('00000000000\0', 136);
  block.write('        ', 148);
  block[156] = 0x30;
  block.write('ustar\0', 257);
  block.write('00', 263);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return block;
}

async function* archive(): AsyncGenerator<Buffer> {
  const head = header(bytes);
  let sent = 0;
  let first = true;
  const total = 512 + bytes + ((512 - (bytes % 512)) % 512) + 1024;
  let at = 0;
  while (sent < total) {
    const n = Math.min(CHUNK, total - sent);
    const chunk = Buffer.allocUnsafeSlow(n); // fresh memory per read, like a socket
    let filled = 0;
    if (first) {
      head.copy(chunk, 0);
      filled = 512;
      first = false;
    }
    while (filled < n) {
      const dataLeft = 512 + bytes - (sent + filled);
      if (dataLeft <= 0) {
        chunk.fill(0, filled);
        break;
      }
      const take = Math.min(n - filled, text.length - at, dataLeft);
      text.copy(chunk, filled, at, at + take);
      at = (at + take) % text.length;
      filled += take;
    }
    sent += n;
    yield chunk;
    if ((sent / CHUNK) % 4 === 0) await new Promise((r) => setImmediate(r));
  }
}

function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const raw = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    out.set(tid, (Number(f[11]) + Number(f[12])) / 100);
  }
  return out;
}

const dataDir = mkdtempSync(join(tmpdir(), 'runbox-pipe-'));
try {
  const codec = await selectZstdCodec({ codec: 'auto', level: 3, frameBytes: 2 ** 20, threads });
  const store = new FileBlobStore({ dataDir, codec, frameBytes: 2 ** 20, packSmallBlobs: true });
  const before = threadCpu();
  const t0 = performance.now();
  let stored;
  for await (const entry of readTar(archive(), 256 * 1024)) {
    if (entry.body) stored = await store.put(Readable.from(entry.body));
  }
  const wall = (performance.now() - t0) / 1000;
  const after = threadCpu();
  const per = (s: number) => ((s * 1024) / mib).toFixed(2);
  let total = 0;
  const rows: string[] = [];
  for (const [tid, cpu] of after) {
    const d = cpu - (before.get(tid) ?? 0);
    total += d;
    if (d >= 0.02) rows.push(`${tid === String(process.pid) ? 'main' : tid}:${per(d)}`);
  }
  const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1];
  console.log(
    `threads=${threads} ${mib} MiB: ${(mib / wall).toFixed(0)} MiB/s, CPU ${per(total)} s/GiB [${rows.join(' ')}], peak RSS ${(Number(hwm) / 1024).toFixed(0)} MiB, sha ${stored?.sha256.slice(0, 12)} compressed ${stored?.compressedSize}, load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
  );
} finally {
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
}
