/** What a run of requests got back. */
export interface TrafficResult {
  readonly sent: number;
  readonly allowed: number;
  readonly denied: number;
  readonly other: number[];
}

/**
 * Sends `ratePerSecond` requests on a fixed schedule for `durationMs` (each one at its planned
 * time, without waiting for earlier answers, as independent callers do) and counts the answers.
 * Bounded: at most `ratePerSecond × durationMs / 1000` requests.
 */
export async function pacedTraffic(
  url: string,
  ratePerSecond: number,
  durationMs: number,
  deniedStatus = 429,
): Promise<TrafficResult> {
  const count = Math.floor((ratePerSecond * durationMs) / 1000);
  const intervalMs = 1000 / ratePerSecond;
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const due = started + i * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const response = await fetch(url);
      await response.arrayBuffer();
      return response.status;
    }),
  );
  return {
    sent: count,
    allowed: answers.filter((s) => s === 200).length,
    denied: answers.filter((s) => s === deniedStatus).length,
    other: answers.filter((s) => s !== 200 && s !== deniedStatus),
  };
}

/** Sends one request per path, in order, and returns the statuses. */
export async function statusesOf(baseUrl: string, paths: readonly string[]): Promise<number[]> {
  const seen: number[] = [];
  for (const path of paths) {
    const response = await fetch(`${baseUrl}${path}`);
    await response.arrayBuffer();
    seen.push(response.status);
  }
  return seen;
}

/** Spellings of /auth/login that a limit must not tell apart: case, percent-encoding, doubled slashes. */
export function bypassSpellings(): string[] {
  return [
    '/auth/login',
    '/AUTH/Login',
    '/auth/%6cogin',
    '//auth//login',
    '/Auth/%4Cogin?x=1',
    '/auth/LOGIN/',
  ];
}
