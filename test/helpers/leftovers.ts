import Docker from 'dockerode';

const docker = new Docker({
  socketPath: process.env.RUNBOX_DOCKER_SOCKET ?? '/var/run/docker.sock',
});

/** Containers (any state) carrying runbox's instance label for this instance. */
export async function labelledContainers(instance: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({
    all: true,
    filters: { label: [`io.runbox.instance=${instance}`] },
  });
}

/** For afterEach: fails the test if it left any runbox container behind, then removes them. */
export async function expectNoLeftoverContainers(instance: string): Promise<void> {
  const left = await labelledContainers(instance);
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
