import { randomBytes } from 'node:crypto';
import { chmod, lstat, open, realpath, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { GossiplessError } from '@gossipless/runtime/errors';
import { isInside } from './walk.js';

/**
 * Checks that writing `absolutePath` stays under `root` (a real path): its directory, resolved,
 * must be inside, and the file itself must not be a symbolic link.
 */
export async function assertWritableInside(root: string, absolutePath: string): Promise<void> {
  const directory = await realpath(path.dirname(absolutePath));
  const target = path.join(directory, path.basename(absolutePath));
  if (!isInside(root, target)) {
    throw new GossiplessError(
      'OUTSIDE_TARGET',
      `refusing to write ${absolutePath}: it is outside the target ${root}`,
    );
  }
  const existing = await lstat(target).catch(() => undefined);
  if (existing?.isSymbolicLink()) {
    throw new GossiplessError('OUTSIDE_TARGET', `refusing to write ${absolutePath}: it is a symbolic link`);
  }
}

/**
 * Writes `text` to `absolutePath` atomically: a temporary file in the same directory (same file
 * system, so `rename` is atomic), flushed, given the original's mode, then renamed over it. A crash
 * leaves the old file or the new one, never half of each.
 */
export async function writeFileAtomic(
  root: string,
  absolutePath: string,
  text: string,
  mode?: number,
): Promise<void> {
  await assertWritableInside(root, absolutePath);
  const temporary = path.join(
    path.dirname(absolutePath),
    `.${path.basename(absolutePath)}.gossipless-${process.pid}-${randomBytes(4).toString('hex')}.tmp`,
  );
  const handle = await open(temporary, 'wx', mode ?? 0o644);
  try {
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    // `open` applies the umask; the original's mode is restored exactly.
    if (mode !== undefined) await chmod(temporary, mode);
    await rename(temporary, absolutePath);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}
