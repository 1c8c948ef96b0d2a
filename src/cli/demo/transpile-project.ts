import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ts } from 'ts-morph';

/**
 * Transpiles every `.ts` file under `srcDir` to `.js` under `outDir` (no type check), with the
 * TypeScript that ts-morph bundles: the demo runs from an installed package, where `tsc` and `tsx`
 * (dev dependencies) may be absent.
 */
export async function transpileProject(srcDir: string, outDir: string): Promise<number> {
  let count = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const from = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(from);
        continue;
      }
      if (!entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue;
      const output = ts.transpileModule(await readFile(from, 'utf8'), {
        fileName: from,
        compilerOptions: {
          target: ts.ScriptTarget.ES2022,
          module: ts.ModuleKind.ESNext,
          esModuleInterop: true,
        },
      });
      const to = path.join(outDir, path.relative(srcDir, from)).replace(/\.ts$/, '.js');
      await mkdir(path.dirname(to), { recursive: true });
      await writeFile(to, output.outputText);
      count++;
    }
  };
  await walk(srcDir);
  return count;
}
