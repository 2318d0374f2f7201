import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBlobStore } from '../../src/backends.js';
import { loadConfig } from '../../src/config.js';
import type { RunboxError } from '../../src/errors/index.js';
import { BLOB_OWNER_FILE } from '../../src/storage/fs/blobDirOwner.js';

describe('one database per data dir blob folder', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("refuses a second database on a data dir whose blobs another database's gc would miss", async () => {
    // Seen from outside: serve --db b.db and gc --db a.db on one data dir; a's gc removed
    // b's blobs and `runbox outputs` of b's succeeded job answered NotFound.
    const dataDir = mkdtempSync(join(tmpdir(), 'runbox-blobowner-'));
    dirs.push(dataDir);
    const config = loadConfig({ env: {}, overrides: { dataDir } });
    const first = await createBlobStore(config, { databaseId: 'aaaa1111' });
    await first.close();
    expect(readFileSync(join(dataDir, BLOB_OWNER_FILE), 'utf8')).toBe('aaaa1111\n');
    expect(statSync(join(dataDir, BLOB_OWNER_FILE)).mode & 0o777).toBe(0o600);
    // The same database again (serve, worker and run share one): fine.
    await (await createBlobStore(config, { databaseId: 'aaaa1111' })).close();
    // Reading only (status, logs) names no database and is never refused.
    await (await createBlobStore(config)).close();
    const error = await createBlobStore(config, { databaseId: 'bbbb2222' }).then(
      () => null,
      (e: unknown) => e as RunboxError,
    );
    expect(error?.type).toBe('InvalidConfig');
    expect(error?.field).toBe('dataDir');
    expect(error?.message).toContain('aaaa1111');
    expect(error?.message).toContain('its own data dir');
    // A database removed on purpose (rm runbox.db to start afresh): the way out is named.
    expect(error?.message).toContain(`delete ${join(dataDir, BLOB_OWNER_FILE)}`);
    // A file left empty by a crash between create and write is taken over.
    writeFileSync(join(dataDir, BLOB_OWNER_FILE), '');
    await (await createBlobStore(config, { databaseId: 'bbbb2222' })).close();
    expect(readFileSync(join(dataDir, BLOB_OWNER_FILE), 'utf8')).toBe('bbbb2222\n');
  });
});
