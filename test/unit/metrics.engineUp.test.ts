import { describe, expect, it } from 'vitest';
import { RunboxMetrics } from '../../src/metrics.js';

/** The samples of one metric in a scrape, without their labels. */
function samples(text: string, name: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => line.slice(line.lastIndexOf(' ') + 1));
}

describe('runbox_engine_up', () => {
  // Seen: 0 before the first engine ping while /healthz said "unknown", so an alert on
  // runbox_engine_up == 0 fired at every start of a serve.
  // A worker runs containers as serve does; its scrape had no runbox_engine_up at all.
  it.each(['serve', 'worker'] as const)(
    'in %s: has no sample while the engine is unknown, then follows the last ping',
    async (process) => {
      let up: boolean | null = null;
      const metrics = new RunboxMetrics({ process, workerId: 'test' });
      metrics.addEngineUp(() => up);
      if (process === 'serve')
        metrics.addScrapeSources({
          countByStatus: async () => ({}),
          queues: async () => [],
          workers: async () => [],
        });
      expect(samples(await metrics.text(), 'runbox_engine_up')).toEqual([]);
      up = true;
      expect(samples(await metrics.text(), 'runbox_engine_up')).toEqual(['1']);
      up = false;
      expect(samples(await metrics.text(), 'runbox_engine_up')).toEqual(['0']);
    },
  );
});
