import { constants } from 'node:fs';
import { lstat, mkdir, open, readlink, realpath, symlink, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { shownName } from './output.js';

/**
 * Writing a job's outputs on the user's disk, where the job's own names and link
 * targets are hostile input. Invariant: nothing written here follows or creates a link
 * that leaves the chosen folder. Every folder on the way is made (or checked) one
 * component at a time with lstat, so an existing link is never walked through; files
 * are opened with O_NOFOLLOW, so a link already standing at the name is refused, not
 * written through; a symlink is created only when its target resolves inside the
 * folder. Refusals are returned as reasons, for the caller to list as warnings.
 */

export class Refused extends Error {}

/**
 * The manifest path as parts; null when it is absolute, empty, or has `.`/`..` parts. A
 * backslash is a name's own character on Linux (a job may write `back\slash`) and a
 * separator only where the platform's is one.
 */
function partsOf(path: string): string[] | null {
  if (
    path === '' ||
    path.startsWith('/') ||
    path.includes('\0') ||
    (sep === '\\' && path.includes('\\'))
  ) {
    return null;
  }
  const parts = path.split('/');
  return parts.every((p) => p !== '' && p !== '.' && p !== '..') ? parts : null;
}

/** The longest name one folder entry may have on Linux file systems (NAME_MAX). */
const NAME_MAX_BYTES = 255;

/**
 * Runs `work`, refusing a name the disk cannot hold as it refuses any other hostile
 * name. A job's names reach the manifest decoded, each invalid byte as U+FFFD's three,
 * so one it made at 255 bytes can be 765 here; and it may nest folders past the host's
 * PATH_MAX. The ENAMETOOLONG was an Internal error (exit 70) that ended the whole
 * download or `run -o` after the files before it.
 */
async function refusingTooLong<T>(path: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENAMETOOLONG') throw error;
    throw new Refused(`${shownName(path)} is a path too long for this disk; not written`);
  }
}

/**
 * Makes sure each parent folder of `path` under `root` is a real folder (made if
 * missing), never a link. Returns the absolute target path.
 */
export async function prepareTarget(root: string, path: string): Promise<string> {
  const parts = partsOf(path);
  if (!parts) throw new Refused(`${shownName(path)} is absolute or has . or .. parts; not written`);
  if (parts.some((part) => Buffer.byteLength(part) > NAME_MAX_BYTES)) {
    throw new Refused(
      `${shownName(path)} has a name longer than ${NAME_MAX_BYTES} bytes, which no folder here can hold; not written`,
    );
  }
  return refusingTooLong(path, () => makeParents(root, parts, path));
}

async function makeParents(root: string, parts: string[], path: string): Promise<string> {
  let at = root;
  for (const part of parts.slice(0, -1)) {
    at = join(at, part);
    const found = await lstat(at).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (!found) {
      await mkdir(at).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      if (!(await lstat(at)).isDirectory())
        throw new Refused(
          `${shownName(path)}: ${shownName(relative(root, at))} is not a folder; not written`,
        );
    } else if (found.isSymbolicLink()) {
      throw new Refused(
        `${shownName(path)}: ${shownName(relative(root, at))} is a symlink in the output folder; not writing through it`,
      );
    } else if (!found.isDirectory()) {
      throw new Refused(
        `${shownName(path)}: ${shownName(relative(root, at))} exists and is not a folder; not written`,
      );
    }
  }
  return join(at, parts[parts.length - 1]!);
}

/**
 * Opens a file under root for writing without following a link at its name: truncated
 * (or appended to, for a resumed download). A link or a non-file there is refused.
 */
export async function openForWrite(
  root: string,
  path: string,
  mode: 'truncate' | 'append',
): Promise<FileHandle> {
  const target = await prepareTarget(root, path);
  const flags =
    constants.O_WRONLY |
    constants.O_CREAT |
    constants.O_NOFOLLOW |
    (mode === 'append' ? constants.O_APPEND : constants.O_TRUNC);
  let handle: FileHandle;
  try {
    handle = await refusingTooLong(path, () => open(target, flags, 0o644));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') {
      throw new Refused(
        `${shownName(path)} is a symlink in the output folder; not writing through it`,
      );
    }
    if (code === 'EISDIR')
      throw new Refused(`${shownName(path)} exists and is a folder; not written`);
    throw error;
  }
  if (!(await handle.stat()).isFile()) {
    await handle.close();
    throw new Refused(`${shownName(path)} exists and is not a regular file`);
  }
  return handle;
}

/** The size of an existing regular file at path under root; 0 when none. Never follows a link. */
export async function existingSize(root: string, path: string): Promise<number> {
  const target = await prepareTarget(root, path);
  const found = await refusingTooLong(path, () =>
    lstat(target).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENAMETOOLONG') throw error;
      return null;
    }),
  );
  if (!found) return 0;
  if (found.isSymbolicLink()) {
    throw new Refused(
      `${shownName(path)} is a symlink in the output folder; not writing through it`,
    );
  }
  if (!found.isFile()) throw new Refused(`${shownName(path)} exists and is not a regular file`);
  return found.size;
}

/** Opens a file under root for reading, refusing a link at its name. */
export async function openForRead(root: string, path: string): Promise<FileHandle> {
  const target = await prepareTarget(root, path);
  return open(target, constants.O_RDONLY | constants.O_NOFOLLOW);
}

/** Whether target is root or under it (a link to root itself leaves nothing). */
function within(root: string, target: string): boolean {
  const rel = relative(root, target);
  return !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/**
 * Creates the symlink `path` -> `target` under root only when the target is relative
 * and stays inside root: as written (lexically) and as the disk resolves it now
 * (through any link already there). An existing entry at the name is left alone.
 */
export async function linkInside(root: string, path: string, target: string): Promise<void> {
  await refusingTooLong(path, () => makeLink(root, path, target));
}

async function makeLink(root: string, path: string, target: string): Promise<void> {
  const at = await prepareTarget(root, path);
  const realRoot = await realpath(root);
  const lexical = resolve(dirname(at), target);
  if (isAbsolute(target) || target === '' || !within(root, lexical)) {
    throw new Refused(
      `symlink ${shownName(path)} -> ${shownName(target)} points outside the output folder; skipped`,
    );
  }
  // The deepest part of the target that exists, resolved through links on disk.
  let probe = lexical;
  let resolved: string | null = null;
  while (resolved === null) {
    resolved = await realpath(probe).catch(() => null);
    if (resolved === null) {
      const up = dirname(probe);
      if (up === probe) break;
      probe = up;
    }
  }
  if (resolved === null || !within(realRoot, resolved)) {
    throw new Refused(
      `symlink ${shownName(path)} -> ${shownName(target)} resolves outside the output folder through a link already there; skipped`,
    );
  }
  const existing = await lstat(at).catch(() => null);
  if (existing) {
    if (existing.isSymbolicLink() && (await readlink(at)) === target) return;
    throw new Refused(
      `${shownName(path)} already exists in the output folder; symlink not created`,
    );
  }
  await symlink(target, at);
}
