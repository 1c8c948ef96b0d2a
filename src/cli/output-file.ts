import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { GossiplessError } from '@gossipless/runtime/errors';

/** Options of {@link writeOutputFile}. */
export interface WriteOutputFileOptions {
  /** The flag the path came from, named in every error (`--output`, `--out`). */
  flag: string;
  /** Stops before the rename when aborted; the temp file is removed. */
  signal?: AbortSignal;
}

/**
 * Writes `content` to `path` whole or not at all, for the files commands write on request
 * (`lint --output`, `edge --out`). The data goes to a temp file created exclusively (`wx`, random
 * name, same directory, so no pre-planted file or symlink is followed) and is renamed over the
 * target. The target must be a regular file or missing: renaming over a device, a directory or a
 * symlink would replace it (as root, `--output /dev/full` once turned the device into a file). The
 * directory must exist: a typo in a path never creates a tree. The temp file is removed on every
 * error path. Errors are `INVALID_OPTIONS` with one line naming the flag and the path.
 */
export async function writeOutputFile(
  path: string,
  content: string,
  options: WriteOutputFileOptions,
): Promise<void> {
  const { flag } = options;
  if (path.length === 0) throw new GossiplessError('INVALID_OPTIONS', `${flag} '' is empty; name a file`);
  await refuseNonRegularTarget(path, flag);
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  let handle;
  try {
    handle = await open(temporary, 'wx');
  } catch (error) {
    throw writeError(flag, path, error);
  }
  try {
    try {
      await handle.writeFile(content, 'utf8');
    } finally {
      await handle.close();
    }
    options.signal?.throwIfAborted();
    await rename(temporary, path);
  } catch (error) {
    await removeIfPresent(temporary);
    if (options.signal?.aborted) {
      throw new GossiplessError('ABORTED', `${flag}: interrupted before ${path} was written`, {
        cause: error,
      });
    }
    throw writeError(flag, path, error);
  }
}

/**
 * Creates `dir` when its parent exists (one level, never a whole tree: Node's recursive mkdir
 * loops forever under /proc and silently creates directories a typo named). An existing
 * directory is fine; anything else at that path is refused.
 */
export async function ensureOutputDirectory(dir: string, flag: string): Promise<void> {
  if (dir.length === 0) throw new GossiplessError('INVALID_OPTIONS', `${flag} '' is empty; name a directory`);
  try {
    await mkdir(dir);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError(flag, dir, error);
  }
  const stats = await lstat(dir);
  if (!stats.isDirectory()) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `${flag} ${dir} exists and is not a directory; name a directory (it is created if its parent exists)`,
    );
  }
}

async function refuseNonRegularTarget(path: string, flag: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    throw writeError(flag, path, error);
  }
  if (!stats.isFile()) {
    const kind = stats.isSymbolicLink()
      ? 'a symbolic link'
      : stats.isDirectory()
        ? 'a directory'
        : 'not a regular file';
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `${flag} ${path} is ${kind}; name a regular file or a new one (it is replaced, never followed)`,
    );
  }
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

// One line per failure, with what to do: the errno names the condition, not the message text.
function writeError(flag: string, path: string, error: unknown): GossiplessError {
  const code = (error as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOENT: existsSync(dirname(path))
      ? `${dirname(path)} does not accept new files`
      : `its directory ${dirname(path)} does not exist; create it first`,
    ENOTDIR: `a part of ${dirname(path)} is a file, not a directory`,
    EACCES: `permission denied in ${dirname(path)}`,
    EPERM: `not permitted in ${dirname(path)}`,
    EROFS: `${dirname(path)} is on a read-only file system`,
    ENOSPC: 'no space left on the device',
    EISDIR: `${path} is a directory`,
  };
  const reason = (code && why[code]) ?? (error instanceof Error ? error.message : String(error));
  return new GossiplessError('INVALID_OPTIONS', `cannot write ${flag} ${path}: ${reason}`, { cause: error });
}
