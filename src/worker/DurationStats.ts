/** Run times of the last jobs finished here, for the /metrics summary. */
export class DurationStats {
  private readonly recent: number[] = [];
  private count = 0;
  private sum = 0;

  constructor(private readonly keep = 1000) {}

  add(seconds: number): void {
    this.count++;
    this.sum += seconds;
    this.recent.push(seconds);
    if (this.recent.length > this.keep) this.recent.shift();
  }

  summary(): { count: number; sum: number; quantiles: Record<string, number> } {
    const sorted = [...this.recent].sort((a, b) => a - b);
    const at = (q: number) =>
      sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    return {
      count: this.count,
      sum: this.sum,
      quantiles: { '0.5': at(0.5), '0.9': at(0.9), '0.99': at(0.99) },
    };
  }
}
