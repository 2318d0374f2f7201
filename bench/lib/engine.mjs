// The Docker engine on this machine is shared: other work may restart it mid-run.
// A run that failed because the engine went away is repeated once it answers again,
// and the report says so.
import { run, sleep } from './proc.mjs';

export async function waitForEngine(timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { code } = await run('docker', ['info', '--format', '{{.ServerVersion}}'], {
      allowFailure: true,
    });
    if (code === 0) return;
    if (Date.now() > deadline) throw new Error('the Docker engine did not come back in time');
    await sleep(1000);
  }
}

/** Runs fn; on failure waits for the engine and runs it again (3 tries in all). */
export async function retryRun(ctx, label, fn) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const reason = String(error.message).split('\n').filter(Boolean).slice(0, 2).join(' ');
      if (attempt >= 3) throw error;
      ctx.log(`${label} failed (${reason}); waiting for the engine, then running it again`);
      ctx.note(`${label} was run again after: ${reason}`);
      await waitForEngine();
    }
  }
}
