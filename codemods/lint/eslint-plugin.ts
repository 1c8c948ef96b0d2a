import type { ESLint, Linter, Rule } from 'eslint';
import { lintSource } from './lint-files.js';
import { TOOLKIT_VERSION as VERSION } from '../../src/toolkit/version.js';
import { noSelfDisablingDiscoveryMeta } from './rules/no-self-disabling-discovery/index.js';

/** Options of the ESLint rule `gossipless/no-self-disabling-discovery`. */
export interface NoSelfDisablingDiscoveryRuleOptions {
  /**
   * Also report handlers that only swallow the failure (the CLI's `warning` level). With `false`,
   * only handlers that switch discovery off or fall back to leader are reported.
   * @default true
   */
  reportSwallowed?: boolean;
}

/**
 * `no-self-disabling-discovery` as an ESLint rule. It runs the same detector as `gossipless lint`
 * on the file's text (so it works under any parser ESLint is configured with) and honours the same
 * `gossipless-disable-next-line` comments; ESLint's own `eslint-disable-next-line
 * gossipless/no-self-disabling-discovery` works as well.
 */
export const noSelfDisablingDiscoveryRule: Rule.RuleModule = {
  meta: {
    type: 'problem',
    docs: {
      description: noSelfDisablingDiscoveryMeta.shortDescription,
      recommended: true,
      url: noSelfDisablingDiscoveryMeta.helpUri,
    },
    messages: {
      fallsBack: '{{message}}',
      swallows: '{{message}}',
    },
    schema: [
      {
        type: 'object',
        properties: { reportSwallowed: { type: 'boolean' } },
        additionalProperties: false,
      },
    ],
    defaultOptions: [{ reportSwallowed: true }],
  },
  create(context) {
    const options = (context.options[0] ?? {}) as NoSelfDisablingDiscoveryRuleOptions;
    const reportSwallowed = options.reportSwallowed ?? true;
    return {
      Program() {
        const result = lintSource(context.filename, context.sourceCode.text);
        // A file ESLint's parser accepted but the TypeScript parser does not is left alone here;
        // the CLI reports such files as skipped.
        if ('skipped' in result) return;
        for (const finding of result.findings) {
          if (finding.severity === 'warning' && !reportSwallowed) continue;
          context.report({
            messageId: finding.severity === 'error' ? 'fallsBack' : 'swallows',
            data: { message: finding.message },
            loc: {
              start: { line: finding.line, column: finding.column - 1 },
              end: { line: finding.endLine, column: finding.endColumn - 1 },
            },
          });
        }
      },
    };
  },
};

const plugin = {
  meta: { name: 'gossipless', version: VERSION },
  rules: { [noSelfDisablingDiscoveryMeta.id]: noSelfDisablingDiscoveryRule },
  configs: {} as Record<'recommended', Linter.Config>,
} satisfies ESLint.Plugin;

plugin.configs.recommended = {
  name: 'gossipless/recommended',
  plugins: { gossipless: plugin },
  rules: { [`gossipless/${noSelfDisablingDiscoveryMeta.id}`]: 'error' },
};

/**
 * The gossipless ESLint plugin (flat config).
 *
 * @example
 * ```js
 * // eslint.config.js
 * import gossipless from 'gossipless/eslint-plugin';
 * export default [gossipless.configs.recommended];
 * // or: { plugins: { gossipless }, rules: { 'gossipless/no-self-disabling-discovery': 'error' } }
 * ```
 */
export default plugin;
