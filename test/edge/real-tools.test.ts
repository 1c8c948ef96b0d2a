import { describe, expect, it } from 'vitest';
import { HAPROXY_FILE, NGINX_FILE } from '../../src/edge/index.js';
import { edgeCases } from './helpers.js';
import { haproxyCheck, nginxCheck } from './real-tools.js';

// Every fixture's nginx and HAProxy output goes through the real binary's config check.
describe.each(edgeCases())('real tools accept the $name configuration', ({ plan }) => {
  it('nginx -t', () => {
    const file = plan.files.find((f) => f.path === NGINX_FILE)!;
    const { status, output } = nginxCheck(file.content);
    expect(output).toContain('syntax is ok');
    expect(status, output).toBe(0);
  });

  it('haproxy -c', () => {
    const file = plan.files.find((f) => f.path === HAPROXY_FILE)!;
    const { status, output } = haproxyCheck(file.content);
    expect(status, output).toBe(0);
    expect(output).not.toMatch(/\[WARNING\]/);
  });
});

describe('the checks are real', () => {
  it('nginx -t rejects a broken limit', () => {
    const { status, output } = nginxCheck('limit_req_zone $binary_remote_addr zone=x:10m rate=fast;\n');
    expect(status).not.toBe(0);
    expect(output).toMatch(/invalid rate/);
  });

  it('haproxy -c rejects a deny status it cannot answer', () => {
    const { status } = haproxyCheck(
      'defaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n' +
        'frontend f\n    bind 127.0.0.1:0\n    http-request deny deny_status 418\n',
    );
    expect(status).not.toBe(0);
  });
});
