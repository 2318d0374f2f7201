import type Docker from 'dockerode';
import type { Config } from '../config.js';
import { engineStatus } from './engineErrors.js';

/** One configured runtime as `GET /v1/runtimes` and `runbox runtimes` show it. */
export interface RuntimeView {
  name: string;
  image: string;
  command: string[];
  /** Whether the engine holds the image now; null when the engine did not answer. */
  present: boolean | null;
}

/** The configured runtimes and whether each image is on the engine (inspected in parallel). */
export async function listRuntimes(
  config: Readonly<Pick<Config, 'runtimes'>>,
  docker: Docker,
): Promise<RuntimeView[]> {
  return Promise.all(
    Object.entries(config.runtimes).map(async ([name, runtime]) => {
      let present: boolean | null;
      try {
        await docker.getImage(runtime.image).inspect();
        present = true;
      } catch (error) {
        present = engineStatus(error) === 404 ? false : null;
      }
      return { name, image: runtime.image, command: [...runtime.command], present };
    }),
  );
}
