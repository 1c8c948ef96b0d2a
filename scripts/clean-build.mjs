// Runs before the builds: stale output of a file that moved would otherwise be packed.
import { rmSync } from 'node:fs';

for (const dir of ['dist', 'packages/runtime/dist']) rmSync(dir, { recursive: true, force: true });
