import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { memoryIo } from '../../src/cli/io.js';
import { packageApiCompilerOptions } from '../helpers/package-api-typecheck.js';
import { buildProgram } from '../../src/cli/program.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The operator and user docs this suite keeps honest. */
const DOCS = [
  'docs/migration-guide.md',
  'docs/operations.md',
  'docs/bus.md',
  'docs/cost-model.md',
  'docs/azure.md',
  'docs/deploy/kubernetes/README.md',
];

/**
 * `gossipless lint` is registered on another branch; its options are the ones its docs (docs/lint.md)
 * and the issue give. Everything else must be registered in src/cli/program.ts.
 */
const LANDING_LATER: Record<string, string[]> = { lint: ['--format', '--output'] };

function fences(markdown: string, languages: string[]): string[] {
  const blocks: string[] = [];
  const pattern = /^```(\w*)\n([\s\S]*?)^```/gm;
  for (const match of markdown.matchAll(pattern)) {
    if (languages.includes(match[1]!)) blocks.push(match[2]!);
  }
  return blocks;
}

/** Every `gossipless …` invocation: in shell blocks (continuations joined) and in inline code. */
function invocations(markdown: string): string[] {
  const found: string[] = [];
  for (const block of fences(markdown, ['sh', 'yaml'])) {
    for (const raw of block.replace(/\\\n\s*/g, ' ').split('\n')) {
      const line = raw.replace(/(^|\s)#.*$/, '').trim();
      // A command position: line start, after npx, a shell operator, or an environment assignment.
      const match = /(?:^|\bnpx\s+|(?:&&|;|\|)\s*|["']\s+|\b[A-Z_]+=\S+\s+)(gossipless\s+[a-z].*)$/.exec(
        line,
      );
      if (match) found.push(match[1]!.trim());
    }
  }
  for (const match of markdown.matchAll(/`(gossipless [a-z][^`]*)`/g)) found.push(match[1]!);
  return found;
}

const program = await buildProgram(memoryIo(), () => undefined);

describe('commands shown in the docs', () => {
  const commands = new Map<string, Set<string>>(
    program.commands.map((command) => [
      command.name(),
      new Set(
        command.options.flatMap((option) => [option.long, option.short]).filter((f): f is string => !!f),
      ),
    ]),
  );
  for (const [name, flags] of Object.entries(LANDING_LATER)) {
    if (!commands.has(name)) commands.set(name, new Set(flags));
  }

  for (const doc of DOCS) {
    it(`${doc}: every gossipless command and flag exists`, () => {
      const text = readFileSync(join(root, doc), 'utf8');
      const lines = invocations(text);
      expect(lines.length, `${doc} shows no gossipless command`).toBeGreaterThan(0);
      for (const line of lines) {
        const tokens = line.split(/\s+/);
        const command = tokens[1]!;
        expect(commands.has(command), `${doc}: \`${line}\` — no command "${command}"`).toBe(true);
        const allowed = commands.get(command)!;
        for (const token of tokens.slice(2)) {
          const flag = token.replace(/[=\])].*$/, '').replace(/^\[/, '');
          if (!flag.startsWith('-') || flag === '-') continue;
          expect(allowed.has(flag), `${doc}: \`${line}\` — ${command} has no option ${flag}`).toBe(true);
        }
      }
    });
  }

  it('notices a flag that does not exist', () => {
    const lines = invocations('```sh\ngossipless status --cluster x --colour\n```\n');
    expect(lines).toEqual(['gossipless status --cluster x --colour']);
    expect(commands.get('status')!.has('--colour')).toBe(false);
  });
});

/**
 * TypeScript blocks are compiled against the package's API (`gossipless` → src/index.ts). They sit
 * next to the legacy example's sources, so the migration guide's relative imports resolve to its
 * real job modules. Blocks of legacy or shim code (the shims are not in this branch) are skipped.
 */
describe('TypeScript shown in the docs', () => {
  const dir = join(root, 'examples/legacy-auth-service/src');
  const globals = join(dir, '__doc_globals.d.ts');
  const virtual = new Map<string, string>([
    [
      globals,
      `declare const log: { debug(m: string): void; info(m: string): void; warn(m: string): void; error(m: string): void };
declare const cluster: import('@gossipless/runtime').Cluster;
declare function recordOnce(id: string, payload: unknown): Promise<void>;
`,
    ],
  ]);
  const origin = new Map<string, string>();
  for (const doc of DOCS) {
    fences(readFileSync(join(root, doc), 'utf8'), ['ts']).forEach((block, i) => {
      if (/gossipless\/shims|Discover\(|GCounterRateLimiter|loginLimiter/.test(block)) return;
      const file = join(dir, `__doc_${doc.replace(/\W+/g, '_')}_${i}.ts`);
      virtual.set(file, `${block}\nexport {};\n`);
      origin.set(file, `${doc}, TypeScript block ${i + 1}`);
    });
  }

  it('finds the blocks', () => {
    expect(origin.size).toBeGreaterThanOrEqual(8);
  });

  it('every block type-checks', () => {
    const options = packageApiCompilerOptions(root);
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists, readFile } = host;
    host.fileExists = (f) => virtual.has(f) || fileExists.call(host, f);
    host.readFile = (f) => virtual.get(f) ?? readFile.call(host, f);
    host.getSourceFile = (f, language, ...rest) => {
      const text = virtual.get(f);
      return text !== undefined
        ? ts.createSourceFile(f, text, language)
        : getSourceFile.call(host, f, language, ...rest);
    };
    const program = ts.createProgram([...virtual.keys()], options, host);
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && virtual.has(d.file.fileName))
      .map((d) => {
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
        return `${origin.get(d.file!.fileName) ?? d.file!.fileName}, line ${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    expect(problems).toEqual([]);
  }, 60_000);
});
