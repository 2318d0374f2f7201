import { readFileSync } from 'node:fs';
import type { TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { ENV_KEYS } from '../../src/config.js';
import { ConfigFileSchema } from '../../src/configSchema.js';

const readme = readFileSync('README.md', 'utf8');

/** The config file's keys as README's table names them: `section.key` inside a section. */
const fileKeys = (): string[] =>
  Object.entries(ConfigFileSchema.properties).flatMap(([key, schema]: [string, TSchema]) => {
    const section = schema.additionalProperties === false ? schema.properties : undefined;
    return section ? Object.keys(section as object).map((inner) => `${key}.${inner}`) : [key];
  });

describe('README on the configuration', () => {
  it('names every key of the config file in its table of keys', () => {
    const start = readme.indexOf('Every key of the file');
    expect(start, 'the table of keys').toBeGreaterThan(0);
    const table = readme.slice(start).split('\n\n')[1]!;
    const named = new Set(
      table
        .split('\n')
        .map((row) => row.split('|')[1] ?? '')
        .flatMap((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)),
    );
    expect(fileKeys().filter((key) => !named.has(key))).toEqual([]);
  });

  it('lists every variable the config reads under Environment', () => {
    const start = readme.indexOf('\nEnvironment: ');
    expect(start, 'the Environment paragraph').toBeGreaterThan(0);
    const paragraph = readme.slice(start, readme.indexOf('\n\n', start + 1));
    const listed = new Set([...paragraph.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!));
    const read = ['RUNBOX_CONFIG', ...Object.keys(ENV_KEYS)];
    expect(read.filter((name) => !listed.has(name))).toEqual([]);
  });
});
