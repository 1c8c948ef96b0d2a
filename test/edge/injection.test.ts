import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { migrate } from '../../codemods/migrate/index.js';
import {
  APIM_FILE,
  EDGE_TARGETS,
  HAPROXY_FILE,
  NGINX_FILE,
  planEdge,
  renderEdgeReport,
  resolveEdgeContext,
  validateRateLimitRules,
  type EdgeFile,
} from '../../src/edge/index.js';
import { haproxyCheck, nginxCheck } from './real-tools.js';

// Issue 17, "Injection into generated configs": every hostile character in every field of a rule,
// and in every flag that reaches a config, either is refused by validation (naming the field) or
// lands in the output where it cannot act — checked by nginx -t / haproxy -c and by parsing every
// other output in its own syntax. MARK is the text that must never become live.
const MARK = 'INJECTED';
const HOSTILE = ['\n', '\r', '\u2028', '"', "'", '`', '-->', '}', '{', ';', '#', '$', '<', '\\', '|'];

const base = {
  name: 'base',
  limit: 10,
  window: '1m',
  burst: 1,
  key: 'ip',
  match: { path: '/api' },
} as const;

// Each field of a rule, set to a value carrying the hostile text around MARK.
const FIELDS: Record<string, (h: string) => Record<string, unknown>> = {
  name: (h) => ({ name: `a${h}${MARK}` }),
  window: (h) => ({ window: `1m${h}${MARK}` }),
  'key (header)': (h) => ({ key: `header:x${h}${MARK}` }),
  'key (jwt)': (h) => ({ key: `jwt:x${h}${MARK}` }),
  'match.path': (h) => ({ match: { path: `/a${h} ${MARK}` } }),
  'match.host': (h) => ({ match: { host: `a${h}${MARK}.example` } }),
  'match.methods': (h) => ({ match: { methods: [`GET${h}${MARK}`] } }),
  action: (h) => ({ action: `reject${h}${MARK}` }),
  // What migrate writes from a legacy file path: the issue's `src/limits\n    deny all; #.ts`.
  source: (h) => ({ source: `src/limits${h}    deny all; ${MARK} #.ts:3` }),
  note: (h) => ({ note: `see${h}</policies><set-backend-service backend-id="${MARK}" /> deny all;` }),
};

const cases = Object.entries(FIELDS).flatMap(([field, make]) =>
  HOSTILE.map((h) => ({ field, h: JSON.stringify(h), rule: { ...base, ...make(h) } })),
);

// Lines holding MARK must be comments of the file's own syntax.
function expectOnlyInComments(file: EdgeFile, commentPrefix: string): void {
  const lines = file.content.split(/\r\n|\n|\r|\u2028|\u2029/);
  for (const line of lines.filter((l) => l.includes(MARK) || l.includes('deny all'))) {
    expect(
      line.trimStart().startsWith(commentPrefix),
      `${file.path}: live line ${JSON.stringify(line)}`,
    ).toBe(true);
  }
}

function checkFile(file: EdgeFile): void {
  if (file.path === NGINX_FILE) {
    expectOnlyInComments(file, '#');
    const { status, output } = nginxCheck(file.content);
    expect(status, output).toBe(0);
  } else if (file.path === HAPROXY_FILE) {
    expectOnlyInComments(file, '#');
    const { status, output } = haproxyCheck(file.content);
    expect(status, output).toBe(0);
  } else if (file.path.endsWith('.yaml')) {
    for (const doc of parseAllDocuments(file.content)) expect(doc.errors, file.path).toEqual([]);
    expectOnlyInComments(file, '#');
  } else if (file.path.endsWith('.bicep')) {
    expectOnlyInComments(file, '//');
  } else if (file.path.endsWith('.json')) {
    expect(() => JSON.parse(file.content) as unknown).not.toThrow();
    expect(file.content).not.toContain(MARK);
  } else if (file.path === APIM_FILE) {
    expect(XMLValidator.validate(file.content)).toBe(true);
    // Comments dropped, the document holds no trace of the hostile text: it stayed inside them.
    const parsed = new XMLParser({ ignoreAttributes: false, commentPropName: false as never }).parse(
      file.content,
    ) as unknown;
    expect(JSON.stringify(parsed)).not.toContain(MARK);
    expect(file.content).not.toContain('<set-backend-service');
    // Every line with the text is one whole comment.
    for (const line of file.content.split('\n').filter((l) => l.includes(MARK)))
      expect(line.trim()).toMatch(/^<!--((?!--).)*-->$/);
  } else {
    throw new Error(`no syntax check for ${file.path}`);
  }
}

describe('hostile text in every rule field, on every target', () => {
  it.each(cases)('$field with $h', ({ field, rule }) => {
    const result = validateRateLimitRules([rule]);
    if (!result.ok) {
      // Refused: the problem names the field (or the rule, for the name itself).
      const top = field.split(' ')[0]!;
      expect(result.problems.map((p) => `${p.field} ${p.rule}`).join('\n')).toContain(
        top === 'name' ? 'name' : top,
      );
      return;
    }
    expect(['source', 'note'], `${field} accepted hostile text`).toContain(field);
    const plan = planEdge(result.rules, EDGE_TARGETS);
    for (const file of plan.files) checkFile(file);
    const report = renderEdgeReport(plan);
    for (const line of report.split('\n').filter((l) => l.includes(MARK)))
      expect(line.startsWith('Intended: ')).toBe(true);
  });
});

describe('hostile text in every flag that reaches a config', () => {
  const flags = {
    listen: (h: string) => ({ listen: `127.0.0.1:8080${h} ${MARK}` }),
    upstream: (h: string) => ({ upstream: `127.0.0.1:3000${h} } server { listen 9999; ${MARK}` }),
    serviceName: (h: string) => ({ serviceName: `app${h}${MARK}` }),
  };
  it.each(Object.entries(flags).flatMap(([flag, make]) => HOSTILE.map((h) => ({ flag, h, make }))))(
    '$flag is refused with hostile text',
    ({ flag, h, make }) => {
      expect(() => resolveEdgeContext(make(h))).toThrow(
        new RegExp(`^${flag === 'serviceName' ? 'service' : flag} "`),
      );
    },
  );
});

describe('end to end: a legacy file name with a newline', () => {
  it('migrate writes it into source, and edge keeps it a comment on every target', async () => {
    const root = mkdtempSync(join(tmpdir(), 'gossipless-injection-'));
    const put = (file: string, text: string) => {
      mkdirSync(join(root, file, '..'), { recursive: true });
      writeFileSync(join(root, file), text);
    };
    put(
      'gossipless.config.json',
      JSON.stringify({
        modules: [
          {
            from: './lib/limiter',
            to: '@gossipless/runtime/shims/crdt-rate-limiter',
            exports: { GossipLimiter: 'CrdtRateLimiter' },
            constructorExport: 'GossipLimiter',
            options: { rename: { max: 'limit', intervalMs: 'windowMs' } },
          },
        ],
      }),
    );
    const hostileName = 'src/limits\n    deny all; #.ts';
    put(
      hostileName,
      `import { GossipLimiter } from '../lib/limiter.js';\nexport const loginLimiter = new GossipLimiter({ max: 50, intervalMs: 60000 });\n`,
    );
    await migrate({ targetDir: root, write: true });
    const rulesText = readFileSync(join(root, 'gossipless.rate-limits.json'), 'utf8');
    expect(rulesText).toContain('deny all');
    const result = validateRateLimitRules(JSON.parse(rulesText));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const plan = planEdge(result.rules, EDGE_TARGETS);
    for (const file of plan.files) checkFile(file);
    expect(plan.files.find((f) => f.path === NGINX_FILE)!.content).toContain('# rule login-limiter');
  });
});
