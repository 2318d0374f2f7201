import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium package; no browser is ever downloaded (.ci/run installs it). */
export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = resolve('test-artifacts/dashboard');

/**
 * Whether the browser tests can run here. Under CI=true a missing Chromium is a failure
 * (the test launching it fails with this message), never a skip; elsewhere the tests
 * are skipped with the reason printed.
 */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  const reason = `${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`;
  if (process.env.CI === 'true') return null; // launch() fails loudly instead
  console.warn(`skipping browser tests: ${reason}`);
  return reason;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  }
  // Root in a container: Chromium's own sandbox needs user namespaces it may not have.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 60_000 });
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, `${name}.png`);
}
