import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkBlobDir, createBlobStore, queueLocation } from '../../src/backends.js';
import { loadConfig } from '../../src/config.js';
import type { RunboxError } from '../../src/errors/index.js';
import { BLOB_OWNER_FILE } from '../../src/storage/fs/blobDirOwner.js';

describe('one database per data dir blob folder', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), 'runbox-blobowner-'));
    dirs.push(dir);
    return dir;
  };
  const refusal = (work: Promise<unknown>) =>
    work.then(
      () => null,
      (e: unknown) => e as RunboxError,
    );

  it("refuses a second database on a data dir whose blobs another database's gc would miss", async () => {
    // Seen from outside: serve --db b.db and gc --db a.db on one data dir; a's gc removed
    // b's blobs and `runbox outputs` of b's succeeded job answered NotFound.
    const dataDir = fresh();
    const elsewhere = fresh();
    const a = join(dataDir, 'runbox.db');
    const b = join(elsewhere, 'b é.db');
    writeFileSync(a, '');
    const config = loadConfig({ env: {}, overrides: { dataDir } });
    const configB = loadConfig({ env: {}, overrides: { dataDir, dbPath: b } });
    const ownerA = { id: 'aaaa1111', location: queueLocation(config) };
    expect(ownerA.location).toBe(a);
    await (await createBlobStore(config, { owner: ownerA })).close();
    const file = join(dataDir, BLOB_OWNER_FILE);
    expect(readFileSync(file, 'utf8')).toBe(`aaaa1111\n${a}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The same database again (serve, worker and run share one): fine.
    await (await createBlobStore(config, { owner: ownerA })).close();
    // Reading only (status, logs) names no database and is never refused.
    await (await createBlobStore(config)).close();

    // Another database, checked before it is opened: refused, and no file made for it.
    const early = await refusal(checkBlobDir(configB));
    expect(early?.type).toBe('InvalidConfig');
    expect(early?.field).toBe('dataDir');
    expect(early?.message).toContain(a);
    expect(early?.message).toContain('its own data dir');
    expect(early?.message).toContain(`delete ${file}`);
    expect(existsSync(b)).toBe(false);
    // And at the claim itself (it opened anyway, say another build's): refused too.
    writeFileSync(b, '');
    const late = await refusal(
      createBlobStore(configB, { owner: { id: 'bbbb2222', location: queueLocation(configB) } }),
    );
    expect(late?.field).toBe('dataDir');
    expect(readFileSync(file, 'utf8')).toBe(`aaaa1111\n${a}\n`);
  });

  it('refuses a second data dir to a database whose own folder keeps its blobs', async () => {
    // Seen from outside: serve --data-dir H, then `runbox worker --db H/runbox.db`; the
    // worker took the default data dir, and its jobs succeeded with logs and outputs
    // that serve answered NotFound for.
    const home = fresh();
    const other = fresh();
    const db = join(home, 'runbox.db');
    writeFileSync(db, '');
    const config = loadConfig({ env: {}, overrides: { dataDir: home } });
    const owner = { id: 'cccc3333', location: queueLocation(config) };
    await (await createBlobStore(config, { owner })).close();

    const split = loadConfig({ env: {}, overrides: { dataDir: other, dbPath: db } });
    const early = await refusal(checkBlobDir(split));
    expect(early?.type).toBe('InvalidConfig');
    expect(early?.field).toBe('dataDir');
    expect(early?.message).toContain(`give it --data-dir ${home}`);
    const late = await refusal(createBlobStore(split, { owner }));
    expect(late?.field).toBe('dataDir');
    expect(existsSync(join(other, BLOB_OWNER_FILE))).toBe(false);

    // A database kept apart from its data dir on purpose (never its folder's owner) is
    // not refused.
    const apart = join(other, 'apart.db');
    writeFileSync(apart, '');
    const apartConfig = loadConfig({ env: {}, overrides: { dataDir: home + '-x', dbPath: apart } });
    dirs.push(home + '-x');
    await checkBlobDir(apartConfig);
    const apartOwner = { id: 'dddd4444', location: queueLocation(apartConfig) };
    await (await createBlobStore(apartConfig, { owner: apartOwner })).close();
  });

  it('is taken over by a database made anew where the owner was, or once the owner is gone', async () => {
    const dataDir = fresh();
    const a = join(dataDir, 'runbox.db');
    const b = join(fresh(), 'b.db');
    writeFileSync(a, '');
    writeFileSync(b, '');
    const config = loadConfig({ env: {}, overrides: { dataDir } });
    const configB = loadConfig({ env: {}, overrides: { dataDir, dbPath: b } });
    const file = join(dataDir, BLOB_OWNER_FILE);
    await (await createBlobStore(config, { owner: { id: 'old1', location: a } })).close();
    // rm runbox.db to start afresh: the new database at the same path (a new id) owns it.
    await checkBlobDir(config);
    await (await createBlobStore(config, { owner: { id: 'new2', location: a } })).close();
    expect(readFileSync(file, 'utf8')).toBe(`new2\n${a}\n`);
    // The owner's file removed: another database is no longer refused, and takes over.
    rmSync(a);
    await checkBlobDir(configB);
    await (await createBlobStore(configB, { owner: { id: 'bbbb', location: b } })).close();
    expect(readFileSync(file, 'utf8')).toBe(`bbbb\n${b}\n`);
    // A record left empty by a crash between create and write is taken over.
    writeFileSync(file, '');
    await (await createBlobStore(config, { owner: { id: 'cccc', location: a } })).close();
    expect(readFileSync(file, 'utf8')).toBe(`cccc\n${a}\n`);
  });

  it('names a PostgreSQL queue by server, database and schema, never its credentials', () => {
    const location = queueLocation(
      loadConfig({
        env: {},
        overrides: {
          queue: {
            kind: 'postgres',
            url: 'postgres://u:s3cret@127.0.0.1:5432/runbox?sslmode=disable',
            schema: 'rb',
          },
        },
      }),
    );
    expect(location).toBe('postgres://127.0.0.1:5432/runbox#rb');
  });
});
