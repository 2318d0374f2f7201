import type { Ora } from 'ora';
import { terminalPrefs } from '../config.js';
import type { CliIO } from './output.js';

export interface Progress {
  update(text: string): void;
  stop(): void;
}

/**
 * A spinner line on stderr for long work (a pull, a wait, a download), shown only on a
 * terminal and never in CI logs; colourless under NO_COLOR. Elsewhere it prints nothing,
 * so pipes and logs see only the command's real output.
 */
export function spinner(io: CliIO, text: string): Progress {
  const prefs = terminalPrefs();
  const terminal = io.stderr as { isTTY?: boolean; columns?: number };
  // A terminal that reports no width (a bare pty) would make the spinner erase lines
  // it never drew, so it counts as no terminal.
  const enabled = Boolean(terminal.isTTY) && (terminal.columns ?? 0) > 0 && !prefs.ci;
  if (!enabled) return { update: () => {}, stop: () => {} };
  const started = Date.now();
  let current = text;
  let spin: Ora | null = null;
  let stopped = false;
  let drawn = 0;
  const show = () => {
    if (!spin) return;
    spin.text = `${current} (${Math.round((Date.now() - started) / 1000)} s)`;
    // Drawn now rather than at ora's next frame, at most every 50 ms: a short pull's
    // bytes would otherwise never reach the screen.
    if (Date.now() - drawn >= 50) {
      drawn = Date.now();
      spin.render();
    }
  };
  // ora loads only on a terminal (it costs ~30 ms of startup, which pipes never need).
  void import('ora').then(({ default: ora }) => {
    if (stopped) return;
    spin = ora({
      // What updates said while ora loaded, not the first text: a short pull may end
      // before the clock shows anything again.
      text: current,
      stream: io.stderr as NodeJS.WriteStream,
      color: prefs.color ? 'cyan' : false,
      isEnabled: true,
      discardStdin: false,
    }).start();
  });
  // The elapsed time moves even while the text does not, so a wait never looks stuck.
  const clock = setInterval(show, 1000);
  clock.unref();
  return {
    update(next) {
      current = next;
      show();
    },
    stop() {
      stopped = true;
      clearInterval(clock);
      spin?.stop();
    },
  };
}

/** "12.3 of 45.6 MiB (27%)" for byte progress. */
export function bytesText(done: number, total: number): string {
  const mib = (n: number) => (n / 1048576).toFixed(1);
  const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
  return `${mib(done)} of ${mib(total)} MiB (${pct}%)`;
}
