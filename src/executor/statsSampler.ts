import type Docker from 'dockerode';
import { cgroupReader } from './cgroupUsage.js';

/** How often the container's cgroup files are read while it runs. */
const CGROUP_POLL_MS = 50;

export interface UsageSample {
  /** Highest memory use seen (the cgroup's high-water mark, else the highest sample); null if none came. */
  peakMemoryBytes: number | null;
  /** CPU time of the container's cgroup at the latest reading; null if none came. */
  cpuSeconds: number | null;
}

interface StatsFrame {
  memory_stats?: { usage?: number; max_usage?: number };
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
}

/**
 * Reads the job's usage while it runs, from two sources, keeping the highest memory
 * and the latest CPU time either gives: the container's cgroup files on the host every
 * 50 ms from before it starts (cgroupUsage.ts; this is what gives a short job, or an
 * OOM-killed one, its figures: the engine removes the cgroup as the container exits,
 * so nothing can be read after), and the engine's stats stream (about one sample a
 * second), for hosts whose cgroup layout is not known. It never delays the run:
 * nothing waits for it, and stop() takes whatever arrived.
 */
export function sampleUsage(container: Docker.Container): {
  /** Reads the cgroup now (right after the start, for a job that may end within a poll). */
  readNow(): void;
  stop(): UsageSample;
} {
  const seen: UsageSample = { peakMemoryBytes: null, cpuSeconds: null };
  let stream: (NodeJS.ReadableStream & { destroy?: () => void }) | null = null;
  let stopped = false;
  let pending = '';
  const take = (frame: StatsFrame) => {
    const mem = frame.memory_stats;
    const peak = Math.max(mem?.max_usage ?? 0, mem?.usage ?? 0);
    if (peak > 0) seen.peakMemoryBytes = Math.max(seen.peakMemoryBytes ?? 0, peak);
    const cpu = frame.cpu_stats?.cpu_usage?.total_usage;
    if (typeof cpu === 'number' && cpu > 0)
      seen.cpuSeconds = Math.max(seen.cpuSeconds ?? 0, cpu / 1e9);
  };
  const readCgroup = cgroupReader(container.id);
  let reading = false;
  const readNow = () => {
    if (reading) return;
    reading = true;
    void readCgroup()
      .then((r) => {
        if (!r || stopped) return;
        if (r.peakMemoryBytes > 0) {
          seen.peakMemoryBytes = Math.max(seen.peakMemoryBytes ?? 0, r.peakMemoryBytes);
        }
        if (r.cpuSeconds !== null) seen.cpuSeconds = Math.max(seen.cpuSeconds ?? 0, r.cpuSeconds);
      })
      .finally(() => {
        reading = false;
      });
  };
  const poll = setInterval(readNow, CGROUP_POLL_MS);
  poll.unref();
  container
    .stats({ stream: true })
    .then((s) => {
      stream = s;
      if (stopped) return stream.destroy?.();
      s.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (!line) continue;
          try {
            take(JSON.parse(line) as StatsFrame);
          } catch {
            // A partial or odd frame: skip it, the next one will do.
          }
        }
      });
      s.on('error', () => {});
    })
    .catch(() => {});
  return {
    readNow,
    stop() {
      stopped = true;
      clearInterval(poll);
      stream?.destroy?.();
      return { ...seen };
    },
  };
}
