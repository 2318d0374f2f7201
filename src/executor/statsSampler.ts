import type Docker from 'dockerode';

export interface UsageSample {
  /** Highest memory use seen (cgroup v1 max_usage, else the highest sample); null if none came. */
  peakMemoryBytes: number | null;
  /** CPU time of the container's cgroup at the last sample; null if none came. */
  cpuSeconds: number | null;
}

interface StatsFrame {
  memory_stats?: { usage?: number; max_usage?: number };
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
}

/**
 * Listens to the engine's stats stream while the job runs. It never delays the run:
 * nothing waits for it, and stop() takes whatever arrived (the engine samples about
 * once a second, so a job shorter than that reports null).
 */
export function sampleUsage(container: Docker.Container): { stop(): UsageSample } {
  const seen: UsageSample = { peakMemoryBytes: null, cpuSeconds: null };
  let stream: (NodeJS.ReadableStream & { destroy?: () => void }) | null = null;
  let stopped = false;
  let pending = '';
  const take = (frame: StatsFrame) => {
    const mem = frame.memory_stats;
    const peak = Math.max(mem?.max_usage ?? 0, mem?.usage ?? 0);
    if (peak > 0) seen.peakMemoryBytes = Math.max(seen.peakMemoryBytes ?? 0, peak);
    const cpu = frame.cpu_stats?.cpu_usage?.total_usage;
    if (typeof cpu === 'number' && cpu > 0) seen.cpuSeconds = cpu / 1e9;
  };
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
    stop() {
      stopped = true;
      stream?.destroy?.();
      return { ...seen };
    },
  };
}
