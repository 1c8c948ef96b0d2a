import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  builtInMappings,
  migrateSourceText,
  resolveMigrateConfig,
  type MigratedSource,
  type ModuleMapping,
} from '../../codemods/migrate/index.js';

/** Where fixture pairs live: `<case>.input.<ext>` → `<case>.output.<ext>`. */
export const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/migrate/', import.meta.url));

/** Fixture files are migrated as if they were at `/repo/src/<case>.<ext>`, the config at `/repo`. */
export const VIRTUAL_REPO = '/repo';

/** One scenario: the case name is the sentence. */
export interface FixtureCase {
  name: string;
  extension: string;
  inputPath: string;
  outputPath: string;
  virtualPath: string;
  mappings: ModuleMapping[];
  expected: {
    reviews?: { line: number; reason: string }[];
    rateLimits?: { name: string; limit: number; window: string; key: unknown; line: number }[];
  };
}

/** Every fixture pair in the folder. */
export function discoverFixtures(): FixtureCase[] {
  const cases: FixtureCase[] = [];
  for (const file of readdirSync(FIXTURE_DIR).sort()) {
    const match = /^(.+)\.input\.(d\.ts|ts|tsx|js|jsx|mjs|cjs)$/.exec(file);
    if (match === null) continue;
    const [, name, extension] = match as unknown as [string, string, string];
    const configPath = path.join(FIXTURE_DIR, `${name}.config.json`);
    const expectedPath = path.join(FIXTURE_DIR, `${name}.expected.json`);
    cases.push({
      name,
      extension,
      inputPath: path.join(FIXTURE_DIR, file),
      outputPath: path.join(FIXTURE_DIR, `${name}.output.${extension}`),
      virtualPath: `${VIRTUAL_REPO}/src/${name}.${extension}`,
      mappings: existsSync(configPath)
        ? resolveMigrateConfig(
            JSON.parse(readFileSync(configPath, 'utf8')),
            `${VIRTUAL_REPO}/gossipless.config.json`,
          )
        : builtInMappings(),
      expected: existsSync(expectedPath) ? JSON.parse(readFileSync(expectedPath, 'utf8')) : {},
    });
  }
  return cases;
}

/** Migrates a fixture's text as the runner would. */
export function migrateFixture(fixture: FixtureCase, text: string): MigratedSource {
  return migrateSourceText(text, {
    absolutePath: fixture.virtualPath,
    relativePath: `src/${fixture.name}.${fixture.extension}`,
    mappings: fixture.mappings,
  });
}
