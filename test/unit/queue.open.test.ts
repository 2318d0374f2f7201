import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { CURRENT_CONTRACT, type ContractDescriptor } from '../../src/contract/contract.js';
import { RunboxError } from '../../src/errors/index.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/queue/sqlite/migrations/index.js';
import { inspectDatabase, openDatabase } from '../../src/queue/sqlite/openDatabase.js';

const dir = mkdtempSync(join(tmpdir(), 'runbox-queue-open-'));
let counter = 0;
const freshPath = () => join(dir, `q${++counter}`, 'runbox.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function otherBuild(
  version: string,
  fingerprint = CURRENT_CONTRACT.fingerprint,
): ContractDescriptor {
  return { ...CURRENT_CONTRACT, version, fingerprint };
}

function thrown(fn: () => unknown): RunboxError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RunboxError);
    return error as RunboxError;
  }
  throw new Error('expected a RunboxError, nothing was thrown');
}

function meta(path: string): Record<string, string> {
  const db = new Database(path, { readonly: true });
  const rows = db.prepare('SELECT key, value FROM meta').all() as Array<{
    key: string;
    value: string;
  }>;
  db.close();
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

describe('openDatabase', () => {
  it('creates the parent folder, applies every migration and sets durable pragmas', () => {
    const path = freshPath();
    const { db, applied } = openDatabase(path);
    expect(applied).toEqual(MIGRATIONS.map((m) => m.version));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(db.pragma('temp_store', { simple: true })).toBe(2); // MEMORY: savepoint journals off disk
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(Number(db.pragma('busy_timeout', { simple: true }))).toBeGreaterThan(0);
    db.close();
    expect(meta(path)).toMatchObject({
      schema_version: String(LATEST_SCHEMA_VERSION),
      contract_name: CURRENT_CONTRACT.name,
      contract_version: CURRENT_CONTRACT.version,
      contract_fingerprint: CURRENT_CONTRACT.fingerprint,
    });
  });

  it('applies nothing when reopening an up-to-date file', () => {
    const path = freshPath();
    openDatabase(path).db.close();
    const again = openDatabase(path);
    expect(again.applied).toEqual([]);
    again.db.close();
  });

  it('lists every migration file under the number its name carries, so none is forgotten', () => {
    const files = readdirSync(resolve('src/queue/sqlite/migrations'))
      .filter((f) => /^\d{3}_.*\.ts$/.test(f))
      .sort();
    expect(files.map((f) => f.replace(/\.ts$/, ''))).toEqual(MIGRATIONS.map((m) => m.name));
    MIGRATIONS.forEach((m, i) => {
      expect(m.version).toBe(i + 1);
      expect(m.name.startsWith(String(m.version).padStart(3, '0'))).toBe(true);
    });
  });

  it('refuses a database from a newer runbox with SchemaTooNew naming both versions, and leaves it alone', () => {
    const path = freshPath();
    const { db } = openDatabase(path);
    const newer = LATEST_SCHEMA_VERSION + 5;
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(newer));
    db.close();
    const error = thrown(() => openDatabase(path));
    expect(error.type).toBe('SchemaTooNew');
    expect(error.message).toContain(`schema version ${newer}`);
    expect(error.message).toContain(`schema version ${LATEST_SCHEMA_VERSION}`);
    expect(error.message).toContain('newer runbox');
    expect(meta(path).schema_version).toBe(String(newer));
  });

  it('applies migrations exactly once when four processes open a fresh file at the same moment', async () => {
    const path = freshPath();
    const module = resolve('src/queue/sqlite/openDatabase.ts');
    const start = Date.now() + 2000;
    const code = `
      import { openDatabase } from ${JSON.stringify(module)};
      while (Date.now() < ${start}) {}
      const { db, applied } = openDatabase(${JSON.stringify(path)});
      db.close();
      process.stdout.write(JSON.stringify(applied));`;
    const run = promisify(execFile);
    const outputs = await Promise.all(
      [1, 2, 3, 4].map(() =>
        run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code]),
      ),
    );
    const applied = outputs.map((o) => JSON.parse(o.stdout) as number[]);
    expect(applied.flat().sort((a, b) => a - b)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(applied.filter((a) => a.length > 0)).toHaveLength(1);
    expect(meta(path).schema_version).toBe(String(LATEST_SCHEMA_VERSION));
    // Four Node processes that each compile the queue with tsx: on a loaded 2-core
    // machine that alone took over 20 s.
  }, 60_000);

  it('reports schema and contract without migrating (for doctor), null for a missing file', () => {
    const path = freshPath();
    expect(inspectDatabase(path)).toBeNull();
    openDatabase(path).db.close();
    expect(inspectDatabase(path)).toEqual({
      schemaVersion: LATEST_SCHEMA_VERSION,
      latestSchemaVersion: LATEST_SCHEMA_VERSION,
      contract: {
        name: CURRENT_CONTRACT.name,
        version: CURRENT_CONTRACT.version,
        fingerprint: CURRENT_CONTRACT.fingerprint,
      },
    });
  });
});

describe('the database contract stamp', () => {
  function stampedBy(contract: ContractDescriptor): string {
    const path = freshPath();
    openDatabase(path, { contract }).db.close();
    return path;
  }

  it('opens a database stamped by this same build', () => {
    const path = stampedBy(CURRENT_CONTRACT);
    expect(() => openDatabase(path).db.close()).not.toThrow();
  });

  it('refuses a database written under another major version, naming both versions and the fix', () => {
    const path = stampedBy(otherBuild('2.0.0', 'f'.repeat(64)));
    const error = thrown(() => openDatabase(path));
    expect(error.type).toBe('ContractMismatch');
    expect(error.message).toContain('2.0.0');
    expect(error.message).toContain(CURRENT_CONTRACT.version);
    expect(error.message).toContain('major version differs');
    expect(error.message).toContain('--db');
  });

  it('refuses the same version with a different fingerprint (a shape change without a bump)', () => {
    const path = stampedBy(otherBuild(CURRENT_CONTRACT.version, 'a'.repeat(64)));
    const error = thrown(() => openDatabase(path));
    expect(error.type).toBe('ContractMismatch');
    expect(error.message).toContain('different fingerprint');
  });

  it('refuses a newer minor in the database: it may hold results this build cannot read', () => {
    const [major, minor] = CURRENT_CONTRACT.version.split('.').map(Number);
    const newer = `${major}.${minor! + 1}.0`;
    const path = stampedBy(otherBuild(newer, 'b'.repeat(64)));
    const error = thrown(() => openDatabase(path));
    expect(error.type).toBe('ContractMismatch');
    expect(error.message).toContain(newer);
    expect(meta(path).contract_version).toBe(newer);
  });

  it('refuses another contract name', () => {
    const path = stampedBy({ ...CURRENT_CONTRACT, name: 'someone.else' });
    expect(thrown(() => openDatabase(path)).type).toBe('ContractMismatch');
  });

  it('opens a database from an older minor of the same major and re-stamps it with ours', () => {
    const newerBuild = otherBuild('1.3.0', 'c'.repeat(64));
    const path = stampedBy(otherBuild('1.1.0', 'd'.repeat(64)));
    openDatabase(path, { contract: newerBuild }).db.close();
    expect(meta(path)).toMatchObject({
      contract_version: '1.3.0',
      contract_fingerprint: 'c'.repeat(64),
    });
  });
});
