import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const INSTALL_HINT =
  'install it with `apt-get update && apt-get install -y nginx haproxy` (.ci/run does this on a fresh machine)';

/**
 * The absolute path of a tool the edge tests run for real. Throws, never skips: a missing binary
 * means the generated configuration went unchecked, and the run must say so.
 */
export function requireBinary(name: 'nginx' | 'haproxy'): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  const found = dirs.map((dir) => join(dir, name)).find((candidate) => candidate && existsSync(candidate));
  if (!found)
    throw new Error(
      `${name} is not installed, so generated ${name} configuration cannot be checked: ${INSTALL_HINT}`,
    );
  return found;
}

/** A private nginx prefix: config, pid, logs and temp paths all inside one temp directory. */
export interface NginxPrefix {
  readonly dir: string;
  readonly conf: string;
  readonly errorLog: string;
}

/** Wraps an http-context include file in a complete nginx.conf that a non-system nginx can run. */
export function nginxPrefix(include: string): NginxPrefix {
  const dir = mkdtempSync(join(tmpdir(), 'gossipless-nginx-'));
  for (const sub of ['logs', 'tmp']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'gossipless-rate-limits.conf'), include);
  const conf = join(dir, 'nginx.conf');
  const errorLog = join(dir, 'logs', 'error.log');
  writeFileSync(
    conf,
    [
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${errorLog} info;`,
      'worker_processes 1;',
      'events { worker_connections 1024; }',
      'http {',
      '    access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        (t) => `    ${t}_temp_path ${join(dir, 'tmp', t)};`,
      ),
      `    include ${join(dir, 'gossipless-rate-limits.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  return { dir, conf, errorLog };
}

/** Arguments that keep nginx inside the prefix (`-e` needs nginx ≥ 1.19.5). */
export function nginxArgs(prefix: NginxPrefix): string[] {
  return ['-p', prefix.dir, '-c', prefix.conf, '-e', prefix.errorLog];
}

/** Runs `nginx -t` on an http-context include; returns its exit status and output. */
export function nginxCheck(include: string): { status: number | null; output: string } {
  const nginx = requireBinary('nginx');
  const prefix = nginxPrefix(include);
  const result = spawnSync(nginx, ['-t', ...nginxArgs(prefix)], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Runs `haproxy -c` on a complete configuration; returns its exit status and output. */
export function haproxyCheck(config: string): { status: number | null; output: string } {
  const haproxy = requireBinary('haproxy');
  const dir = mkdtempSync(join(tmpdir(), 'gossipless-haproxy-'));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const result = spawnSync(haproxy, ['-c', '-f', file], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
