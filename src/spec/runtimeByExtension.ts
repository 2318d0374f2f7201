/** The runtime a script's file extension names when a job gives neither runtime nor command. */
export const RUNTIME_BY_EXTENSION: Readonly<Record<string, string>> = {
  '.py': 'python:3.11',
  '.js': 'node:20',
  '.mjs': 'node:20',
  '.cjs': 'node:20',
  '.sh': 'shell',
};

export function runtimeForScript(path: string): string | undefined {
  const dot = path.lastIndexOf('.');
  return dot > path.lastIndexOf('/') ? RUNTIME_BY_EXTENSION[path.slice(dot)] : undefined;
}
