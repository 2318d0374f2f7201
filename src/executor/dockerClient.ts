import Docker from 'dockerode';
import { dockerEndpoint } from '../config.js';

/** A client for config.dockerSocket (a socket path, unix:// or tcp:// URL). */
export function createDocker(endpoint: string): Docker {
  const parsed = dockerEndpoint(endpoint);
  return new Docker(
    'socketPath' in parsed ? parsed : { protocol: 'http', host: parsed.host, port: parsed.port },
  );
}

/**
 * Creates a container with its options in the request body alone. dockerode's own
 * createContainer also writes every option into the URL's query string: the env (secret
 * values included) went into a request line the engine and any proxy may log, and past
 * about 1 MiB of it, percent-encoded (100,000 one-letter variables, or 400 KB of "/"),
 * the engine answered 431 and every attempt failed Internal.
 */
export function createContainer(
  docker: Docker,
  options: Docker.ContainerCreateOptions,
): Promise<Docker.Container> {
  const { name, ...body } = options;
  return docker.createContainer({
    ...options,
    _query: name === undefined ? {} : { name },
    _body: body,
  } as Docker.ContainerCreateOptions);
}
