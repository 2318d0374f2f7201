import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium package; no browser is ever downloaded (.ci/run installs it). */
export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = resolve('test-artifacts/dashboard');

/** Chromium is required like the Docker engine: a missing one fails, never skips. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: bash scripts/test-env installs it (apt-get install -y chromium)`,
    );
  }
  // Root in a container: Chromium's own sandbox needs user namespaces it may not have.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 60_000 });
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, `${name}.png`);
}
