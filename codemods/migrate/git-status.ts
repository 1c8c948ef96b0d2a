import { execFile } from 'node:child_process';

/** What git says about the target's working tree. */
export interface GitWorkingTreeStatus {
  /** False when the target is not in a git repository, or git is not installed. */
  repository: boolean;
  /** `git status --porcelain` lines for paths under the target (uncommitted or untracked). */
  changes: string[];
}

/**
 * Asks git whether the target has uncommitted changes, so a rewrite never mixes with work the
 * user has not saved in a commit. Not being a repository is an answer, not an error.
 */
export function gitWorkingTreeStatus(targetDir: string): Promise<GitWorkingTreeStatus> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['status', '--porcelain', '--untracked-files=normal', '--', '.'],
      {
        cwd: targetDir,
        timeout: 15_000,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
      },
      (error, stdout) => {
        // Exit 128 (not a repository) and ENOENT (no git) both mean: nothing to protect.
        if (error !== null) resolve({ repository: false, changes: [] });
        else resolve({ repository: true, changes: stdout.split('\n').filter((line) => line.trim() !== '') });
      },
    );
  });
}
