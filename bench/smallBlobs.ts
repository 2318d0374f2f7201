// Micro bench for issue 17's small-files gap: N random buffers of B bytes put through one
// blob batch and committed, alternating the store under test with the one at HEAD
// (FileBlobStoreBefore.ts, a copy made only for this run), so both see the same noise.
// Usage: git show <base>:src/storage/fs/FileBlobStore.ts > src/storage/fs/FileBlobStoreBefore.ts
//        BENCH_DIR=<dir on the data disk> npx tsx bench/smallBlobs.ts [rounds] [files] [bytes]
// then delete FileBlobStoreBefore.ts (without it only the current store is timed).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBlobStore } from '../src/storage/fs/FileBlobStore.js';
import { selectZstdCodec } from '../src/storage/zstd/selectCodec.js';

const rounds = Number(process.argv[2] ?? 7);
const files = Number(process.argv[3] ?? 9000);
const bytes = Number(process.argv[4] ?? 900);
const IN_FLIGHT = 16; // as collectOutputs' PUTS_IN_FLIGHT order of magnitude

type Ctor = new (o: {
  dataDir: string;
  codec: never;
  frameBytes: number;
  packSmallBlobs: boolean;
}) => FileBlobStore;
const sides: [string, Ctor][] = [['after', FileBlobStore as unknown as Ctor]];
const beforePath = new URL('../src/storage/fs/FileBlobStoreBefore.ts', import.meta.url);
if (existsSync(beforePath)) {
  const m = (await import(beforePath.href)) as { FileBlobStore: Ctor };
  sides.unshift(['before', m.FileBlobStore]);
}
const codec = await selectZstdCodec({ codec: 'auto', level: 3, frameBytes: 1 << 20 });
const times = new Map<string, number[]>(sides.map(([n]) => [n, []]));
const phases = new Map<string, [number, number][]>(sides.map(([n]) => [n, []]));
for (let r = 0; r < rounds; r++) {
  for (const [name, Store] of r % 2 ? [...sides].reverse() : sides) {
    const dataDir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'runbox-small-'));
    // As createFileBlobStore makes it (a store before packs ignores the option).
    const store = new Store({
      dataDir,
      codec: codec as never,
      frameBytes: 1 << 20,
      packSmallBlobs: true,
    });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(store.paths.tmp, { recursive: true });
    const data = Array.from({ length: files }, () => randomBytes(bytes));
    const t0 = performance.now();
    const batch = store.beginBatch();
    const inFlight = new Set<Promise<unknown>>();
    for (const d of data) {
      const p: Promise<unknown> = store.put(d, { batch }).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    const t1 = performance.now();
    await batch.commit();
    phases.get(name)!.push([t1 - t0, performance.now() - t1]);
    const ms = performance.now() - t0;
    times.get(name)!.push(ms);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
const stats = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! };
};
console.log(
  `settings: ${files} x ${bytes} B random, ${rounds} rounds interleaved, ${IN_FLIGHT} puts in flight, codec ${codec.name ?? 'auto'}, dir ${process.env.BENCH_DIR ?? tmpdir()}`,
);
for (const [name] of sides) {
  const { median, min, max } = stats(times.get(name)!);
  const p = phases.get(name)!;
  const puts = stats(p.map(([a]) => a)).median;
  const commits = stats(p.map(([, b]) => b)).median;
  console.log(
    `${name}: put phase median ${puts.toFixed(0)} ms, commit phase median ${commits.toFixed(0)} ms`,
  );
  console.log(
    `${name}: median ${median.toFixed(0)} ms (min ${min.toFixed(0)}, max ${max.toFixed(0)}) all=${times
      .get(name)!
      .map((t) => t.toFixed(0))
      .join(',')}`,
  );
}
