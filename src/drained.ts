/** Resolves when a writable wants more, or is closed (then nothing more is wanted). */
export function drained(out: NodeJS.WritableStream & { destroyed?: boolean }): Promise<void> {
  if (out.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.once('drain', done);
    out.once('close', done);
  });
}
