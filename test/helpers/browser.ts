import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, errors, type Browser, type Page } from 'playwright-core';

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

/**
 * Saves a screenshot for a reviewer to look at. It asserts nothing: the tests check the
 * DOM. Chromium once never handed over a frame under CI's load (a 30 s timeout after
 * "fonts loaded", with the page fully rendered), so a capture that times out is tried
 * once more and then noted, not failed.
 */
export async function keepScreenshot(
  page: Page,
  name: string,
  opts: { fullPage: boolean } = { fullPage: true },
): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  for (let attempt = 1; ; attempt++) {
    try {
      await page.screenshot({
        path,
        fullPage: opts.fullPage,
        animations: 'disabled',
        timeout: 15_000,
      });
      return;
    } catch (e) {
      if (!(e instanceof errors.TimeoutError)) throw e;
      if (attempt === 2) {
        console.warn(`screenshot ${name}: Chromium gave no frame twice in 15 s; not saved`);
        return;
      }
    }
  }
}
