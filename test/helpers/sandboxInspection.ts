import type Docker from 'dockerode';
import { docker } from './chaosKit.js';

/**
 * Checks one created container against the sandbox runbox promises (issue 7): not
 * privileged, every capability dropped, no-new-privileges, read-only root, a non-root
 * user, no host path but its own scratch work/outputs folders under `scratchRoot`
 * (so never the Docker socket), and network none unless the job asked for bridge.
 * Returns what is wrong, empty when nothing is.
 */
export function sandboxViolations(
  info: Docker.ContainerInspectInfo,
  scratchRoot: string,
  allowedNetwork: 'none' | 'bridge' = 'none',
): string[] {
  const wrong: string[] = [];
  const host = info.HostConfig;
  if (host.Privileged) wrong.push('privileged');
  if (!(host.CapDrop ?? []).includes('ALL')) wrong.push(`CapDrop ${JSON.stringify(host.CapDrop)}`);
  if ((host.CapAdd ?? []).length > 0) wrong.push(`CapAdd ${JSON.stringify(host.CapAdd)}`);
  if (!(host.SecurityOpt ?? []).some((o: string) => /^no-new-privileges(:true|=true)?$/.test(o))) {
    wrong.push(`SecurityOpt ${JSON.stringify(host.SecurityOpt)}`);
  }
  if (!host.ReadonlyRootfs) wrong.push('root filesystem writable');
  const user = info.Config.User ?? '';
  const uid = user.split(':')[0] ?? '';
  if (uid === '' || uid === '0' || uid === 'root') wrong.push(`user "${user}"`);
  const network = host.NetworkMode ?? '';
  if (network !== allowedNetwork && !(allowedNetwork === 'bridge' && network === 'default')) {
    wrong.push(`network ${network}`);
  }
  if (host.PidMode && host.PidMode !== '') wrong.push(`pid mode ${host.PidMode}`);
  if (host.IpcMode === 'host') wrong.push('ipc host');
  if ((host.Devices ?? []).length > 0) wrong.push('devices');
  for (const bind of host.Binds ?? []) wrong.push(`bind ${bind}`);
  const destinations = new Set<string>();
  for (const mount of info.Mounts) {
    destinations.add(mount.Destination);
    if (mount.Type !== 'bind') {
      wrong.push(`${mount.Type} mount at ${mount.Destination}`);
      continue;
    }
    const ownFolder = mount.Source.startsWith(`${scratchRoot}/`);
    if (!ownFolder || !['/work', '/outputs'].includes(mount.Destination)) {
      wrong.push(`host path ${mount.Source} at ${mount.Destination}`);
    }
    if (/docker\.sock/.test(mount.Source)) wrong.push('docker socket mounted');
  }
  const work = info.Mounts.find((m) => m.Destination === '/work')?.Source ?? '';
  const outputs = info.Mounts.find((m) => m.Destination === '/outputs')?.Source ?? '';
  if (work && outputs && work.replace(/\/work$/, '') !== outputs.replace(/\/outputs$/, '')) {
    wrong.push('work and outputs folders of different attempts');
  }
  return wrong;
}

/**
 * Inspects every container created while it runs (from docker events); summary()
 * judges them all, with the network each job asked for (known by then). A container
 * gone before it could be inspected is counted apart.
 */
export function sandboxInspector(scratchRoot: string) {
  const seen: Docker.ContainerInspectInfo[] = [];
  let vanished = 0;
  return {
    async onCreate(id: string): Promise<void> {
      try {
        seen.push(await docker.getContainer(id).inspect());
      } catch {
        vanished += 1;
      }
    },
    summary(networkOf: (jobId: string) => 'none' | 'bridge' = () => 'none') {
      const violations: Array<{ id: string; job: string; problems: string[] }> = [];
      for (const info of seen) {
        const job = info.Config.Labels?.['io.runbox.job'] ?? '';
        const problems = sandboxViolations(info, scratchRoot, networkOf(job));
        if (problems.length > 0) violations.push({ id: info.Id, job, problems });
      }
      return { inspected: seen.length, vanished, violations };
    },
  };
}
