const level = process.env.LOG_LEVEL ?? 'info';

export const log = {
  debug: (message: string) => {
    if (level === 'debug') console.error(`[debug] ${message}`);
  },
  info: (message: string) => console.error(`[info] ${message}`),
  error: (message: string) => console.error(`[error] ${message}`),
};

// One JSON line per business event on stdout, so operators (and the demo) can count them.
export function event(name: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ event: name, t: Date.now(), ...fields }) + '\n');
}
