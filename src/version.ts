/** Replaced at bundle time by scripts/build.mjs; these are the source-tree fallbacks. */
declare const __RUNBOX_VERSION__: string | undefined;
declare const __RUNBOX_COMMIT__: string | undefined;

export const RUNBOX_VERSION: string =
  typeof __RUNBOX_VERSION__ === 'string' ? __RUNBOX_VERSION__ : '0.1.0-dev';
export const RUNBOX_COMMIT: string =
  typeof __RUNBOX_COMMIT__ === 'string' ? __RUNBOX_COMMIT__ : 'unknown';
