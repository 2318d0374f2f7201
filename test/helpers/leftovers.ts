import { join } from 'node:path';
import Database from 'better-sqlite3';
import Docker from 'dockerode';

const docker = new Docker({
  socketPath: process.env.RUNBOX_DOCKER_SOCKET ?? '/var/run/docker.sock',
});

/**
 * Whose containers a check looks at: an instance name (a test process's TEST_INSTANCE),
 * or one database's id (a server left on its default identity). Never every runbox
 * container: a user's own server may share this engine.
 */
export type ContainerOwner = string | { database: string };

/** Containers (any state) of that owner. */
export async function labelledContainers(owner: ContainerOwner): Promise<Docker.ContainerInfo[]> {
  const label =
    typeof owner === 'string'
      ? `io.runbox.instance=${owner}`
      : `io.runbox.database=${owner.database}`;
  return docker.listContainers({ all: true, filters: { label: [label] } });
}

/** The id a data dir's database labels its containers with (migration 002). */
export function databaseIdOf(dataDir: string): string {
  const db = new Database(join(dataDir, 'runbox.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare("SELECT value FROM meta WHERE key = 'database_id'").get() as
      { value: string } | undefined;
    if (!row) throw new Error(`${dataDir}/runbox.db has no database_id`);
    return row.value;
  } finally {
    db.close();
  }
}

/** For afterEach: fails the test if it left any runbox container behind, then removes them. */
export async function expectNoLeftoverContainers(owner: ContainerOwner): Promise<void> {
  const left = await labelledContainers(owner);
  await Promise.all(
    left.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => {}),
    ),
  );
  if (left.length > 0) {
    throw new Error(
      `test left ${left.length} labelled container(s): ${left.map((c) => c.Names.join(',')).join(' ')}`,
    );
  }
}
