import { Project } from 'ts-morph';
import { describe, expect, it } from 'vitest';
import { nodeDiscoverMapping, rewriteModule } from '../../codemods/migrate/index.js';

function rewrite(text: string) {
  const project = new Project({ useInMemoryFileSystem: true });
  const sourceFile = project.createSourceFile('/repo/src/cluster.ts', text);
  return rewriteModule(sourceFile, nodeDiscoverMapping, {
    absolutePath: '/repo/src/cluster.ts',
    relativePath: 'src/cluster.ts',
    eol: '\n',
  });
}

describe('options spread from a const shared by several legacy calls', () => {
  it('edits the const once, not once per call site', () => {
    const { changes, reviews } = rewrite(
      [
        "import Discover from 'node-discover';",
        "const lan = { port: 1, multicast: '239.1.1.1' };",
        'export const a = Discover({ ...lan, client: true });',
        'export const b = Discover({ ...lan });',
        'export const c = new Discover(lan);',
      ].join('\n'),
    );
    const removals = changes.filter((change) => change.text.includes('removed `multicast`'));
    expect(removals).toHaveLength(1);
    expect(reviews).toEqual([]);
  });

  it('reports what it cannot read inside the shared const once', () => {
    const { reviews } = rewrite(
      [
        "import Discover from 'node-discover';",
        "import { defaults } from './settings';",
        'const lan = { port: 1, ...defaults };',
        'export const a = Discover({ ...lan, client: true });',
        'export const b = Discover(lan);',
      ].join('\n'),
    );
    expect(reviews).toHaveLength(1);
    expect(reviews[0]).toMatchObject({ line: 3, reason: expect.stringContaining('`defaults` is imported') });
  });

  it('reports at each call site when the shared const cannot be edited', () => {
    const { changes, reviews } = rewrite(
      [
        "import Discover from 'node-discover';",
        "export const lan = { port: 1, multicast: '239.1.1.1' };",
        'export const a = Discover({ ...lan, client: true });',
        'export const b = Discover({ ...lan });',
      ].join('\n'),
    );
    expect(changes.filter((change) => change.text.includes('gossipless: removed'))).toEqual([]);
    expect(reviews.map((review) => review.line)).toEqual([3, 4]);
  });
});
