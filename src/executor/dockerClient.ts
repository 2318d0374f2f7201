import Docker from 'dockerode';
import { dockerEndpoint } from '../config.js';

/** A client for config.dockerSocket (a socket path, unix:// or tcp:// URL). */
export function createDocker(endpoint: string): Docker {
  const parsed = dockerEndpoint(endpoint);
  return new Docker(
    'socketPath' in parsed ? parsed : { protocol: 'http', host: parsed.host, port: parsed.port },
  );
}
