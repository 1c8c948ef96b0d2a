import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuleTester } from '@typescript-eslint/rule-tester';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import * as vitest from 'vitest';
import plugin from '../../codemods/lint/eslint-plugin.js';
import { noSelfDisablingDiscoveryRule } from '../../codemods/lint/index.js';

RuleTester.afterAll = vitest.afterAll;
RuleTester.describe = vitest.describe;
RuleTester.it = vitest.it;
RuleTester.itOnly = vitest.it.only;

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'lint');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

const ruleTester = new RuleTester();
// The rule is typed with ESLint's own types (the plugin must not need typescript-eslint at run
// time); the tester wants typescript-eslint's RuleModule, which describes the same object.
const rule = noSelfDisablingDiscoveryRule as unknown as Parameters<typeof ruleTester.run>[1];

ruleTester.run('no-self-disabling-discovery', rule, {
  valid: [
    { name: 'rethrow with cause', code: fixture('rethrow-wrapped-with-cause-after-marking-unhealthy.ts') },
    {
      name: 'unrelated catches next to discovery',
      code: fixture('unrelated-catches-in-a-file-with-discovery-stay-clean.ts'),
    },
    { name: 'statsd socket', code: fixture('dgram-statsd-client-error-handler-is-not-discovery.ts') },
    {
      name: 'swallow-only handlers are not reported with reportSwallowed: false',
      code: fixture('dgram-add-membership-catch-that-only-logs-at-debug.ts'),
      options: [{ reportSwallowed: false }],
    },
    {
      name: 'gossipless suppression comment with a reason',
      code: `import dgram from 'dgram';
const socket = dgram.createSocket('udp4');
try {
  socket.addMembership('239.1.1.1');
  // gossipless-disable-next-line no-self-disabling-discovery -- single-host lab tool
} catch {}
`,
    },
  ],
  invalid: [
    {
      name: 'dgram multicast failure switches multicast off',
      code: fixture('dgram-add-membership-failure-switches-multicast-off.ts'),
      errors: [{ messageId: 'fallsBack', line: 12, column: 9, endLine: 15, endColumn: 8 }],
    },
    {
      name: 'swallowing catch is reported as swallows',
      code: fixture('dgram-add-membership-catch-that-only-logs-at-debug.ts'),
      errors: [{ messageId: 'swallows', line: 13, column: 7 }],
    },
    {
      name: 'class-based service nulls its discovery object',
      code: fixture('class-based-discovery-nulls-the-discovery-object-in-catch.ts'),
      errors: [{ messageId: 'fallsBack', line: 13, column: 7 }],
    },
    {
      name: 'then(onOk, onRejected) declares itself leader',
      code: fixture('then-with-rejection-handler-that-declares-itself-leader.ts'),
      errors: [{ messageId: 'fallsBack', line: 5, column: 33 }],
    },
    {
      name: 'swim error event with a noop handler',
      code: fixture('swim-error-event-with-noop-handler.ts'),
      errors: [{ messageId: 'swallows', line: 5, column: 6 }],
    },
  ],
});

vitest.describe('gossipless ESLint plugin (flat config)', () => {
  vitest.it('recommended config turns the rule on as an error, through ESLint itself', () => {
    const linter = new Linter({ configType: 'flat' });
    const messages = linter.verify(
      fixture('node-discover-start-failure-promotes-self-to-master.js'),
      [plugin.configs.recommended],
      'src/discovery.js',
    );
    vitest.expect(messages).toEqual([
      vitest.expect.objectContaining({
        ruleId: 'gossipless/no-self-disabling-discovery',
        severity: 2,
        line: 7,
        column: 74,
        message: vitest.expect.stringContaining('declares itself leader or standalone (`isMaster = true`'),
      }),
    ]);
  });

  vitest.it('works under the typescript-eslint parser and honours eslint-disable comments', () => {
    const linter = new Linter({ configType: 'flat' });
    const config = [
      { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser as Linter.Parser } },
      { files: ['**/*.ts'], ...plugin.configs.recommended },
    ];
    const code = fixture('promise-catch-on-gossip-join-that-does-nothing.ts');
    vitest.expect(linter.verify(code, config, 'main.ts')).toHaveLength(1);
    const disabled = code.replace(
      '  await gossip.join()',
      '  // eslint-disable-next-line gossipless/no-self-disabling-discovery -- migrating in #12\n  await gossip.join()',
    );
    vitest.expect(linter.verify(disabled, config, 'main.ts')).toEqual([]);
  });

  vitest.it('is exported as gossipless/eslint-plugin from the package', () => {
    const manifest = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8'),
    ) as {
      exports: Record<string, unknown>;
    };
    vitest.expect(manifest.exports['./eslint-plugin']).toEqual({
      types: './dist/codemods/lint/eslint-plugin.d.ts',
      default: './dist/codemods/lint/eslint-plugin.js',
    });
    vitest.expect(plugin.meta.name).toBe('gossipless');
    vitest.expect(Object.keys(plugin.rules)).toEqual(['no-self-disabling-discovery']);
  });
});
