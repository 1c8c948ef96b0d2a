/**
 * The gossipless row of bench:migrate, for its speed children (migrate-speed-child.ts) and its
 * memory children (memory-child.ts). Imports only gossipless' migrate.
 */
import { migrate, type MigrateReport } from '../../codemods/migrate/index.js';
import type { Workload } from './memory-child.js';
import type { SpeedWorkload } from './migrate-speed-child.js';

/** `gossipless migrate` as a dry run over `targetDir`. */
export async function runGossiplessMigrate(targetDir: string, onFile?: () => void): Promise<MigrateReport> {
  return migrate(
    onFile === undefined ? { targetDir, write: false } : { targetDir, write: false, onProgress: onFile },
  );
}

/** Memory child: args = [target directory]. */
export const migrateWorkload: Workload = async ([targetDir], onFile) => {
  const report = await runGossiplessMigrate(targetDir!, onFile);
  return { files: report.counts.files, matches: report.counts.changed, retained: report };
};

/** Speed child: args = [target directory]; each run returns the files it would change. */
export const migrateSpeedWorkload: SpeedWorkload =
  ([targetDir]) =>
  async () =>
    (await runGossiplessMigrate(targetDir!)).counts.changed;
