import Docker from 'dockerode';

/**
 * Integration tests need a real engine. Under CI=true a missing engine fails the run
 * (never a skip); elsewhere too, with the command that fixes it.
 */
export default async function setup(): Promise<void> {
  const docker = new Docker({
    socketPath: process.env.RUNBOX_DOCKER_SOCKET ?? '/var/run/docker.sock',
  });
  try {
    await docker.ping();
  } catch (error) {
    throw new Error(
      `No Docker engine answers (${(error as Error).message}). Run 'bash scripts/test-env' first` +
        (process.env.CI === 'true' ? ' (CI=true: integration tests never skip).' : '.'),
      { cause: error },
    );
  }
  for (const image of [
    'runbox-test/python:latest',
    'runbox-test/node:latest',
    'runbox-test/shell:latest',
  ]) {
    try {
      await docker.getImage(image).inspect();
    } catch {
      throw new Error(`Test image ${image} is missing. Run 'bash scripts/test-env' to build it.`);
    }
  }
}
