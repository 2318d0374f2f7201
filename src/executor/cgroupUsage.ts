import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** Where one container's peak memory and CPU time can be read on the host. */
interface CgroupFiles {
  /** Bytes, a high-water mark the kernel keeps (v1 max_usage, v2 memory.peak). */
  peak: string;
  cpu: string;
  parseCpu(text: string): number | null;
}

const cpuacctNanos = (text: string) => {
  const value = Number(text.trim());
  return Number.isFinite(value) ? value / 1e9 : null;
};
const cpuStatMicros = (text: string) => {
  const line = /^usage_usec (\d+)$/m.exec(text);
  return line ? Number(line[1]) / 1e6 : null;
};

/**
 * The engine's default cgroup paths for a container, for cgroup v1 and v2 under the
 * cgroupfs and systemd drivers. A daemon with another --cgroup-parent matches none;
 * the engine's stats stream then is the only source (statsSampler.ts).
 */
function candidates(containerId: string): CgroupFiles[] {
  const out: CgroupFiles[] = [];
  for (const leaf of [
    join('docker', containerId),
    join('system.slice', `docker-${containerId}.scope`),
  ]) {
    for (const cpuMount of ['cpuacct', 'cpu,cpuacct']) {
      out.push({
        peak: join(CGROUP_ROOT, 'memory', leaf, 'memory.max_usage_in_bytes'),
        cpu: join(CGROUP_ROOT, cpuMount, leaf, 'cpuacct.usage'),
        parseCpu: cpuacctNanos,
      });
    }
    out.push({
      peak: join(CGROUP_ROOT, leaf, 'memory.peak'),
      cpu: join(CGROUP_ROOT, leaf, 'cpu.stat'),
      parseCpu: cpuStatMicros,
    });
  }
  return out;
}

export interface CgroupReading {
  peakMemoryBytes: number;
  cpuSeconds: number | null;
}

/**
 * Reads a container's cgroup on the host (world-readable, so runbox need not be root).
 * The engine removes the cgroup as the container exits, so this is read while the job
 * runs: the memory figure is the kernel's own high-water mark (so a read any time
 * before the end has every peak up to then, an OOM kill's included), the CPU figure is
 * cumulative. Null when no known path exists (not started, gone, or another layout).
 */
export function cgroupReader(containerId: string): () => Promise<CgroupReading | null> {
  let found: CgroupFiles | null = null;
  const read = async (files: CgroupFiles): Promise<CgroupReading | null> => {
    const peakText = await readFile(files.peak, 'utf8').catch(() => null);
    const peak = peakText === null ? NaN : Number(peakText.trim());
    if (!Number.isFinite(peak)) return null;
    const cpuText = await readFile(files.cpu, 'utf8').catch(() => null);
    return { peakMemoryBytes: peak, cpuSeconds: cpuText === null ? null : files.parseCpu(cpuText) };
  };
  return async () => {
    if (found) return read(found);
    for (const files of candidates(containerId)) {
      const reading = await read(files);
      if (reading) {
        found = files;
        return reading;
      }
    }
    return null;
  };
}
