import { createHash } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { counterPartition, counterPartitionsFilter, odataString } from '../table-layout/index.js';
import type { ServerTimeEstimate } from '../clock/index.js';
import { GossiplessError } from '../errors/index.js';
import { deadlineSignal, isNotFound, storageFailure, type StorageConnection } from '../storage/index.js';

/** Options of {@link WindowedCounterTable}. */
export interface WindowedCounterTableOptions {
  /** The storage account the table lives in. */
  storage: StorageConnection;
  /** Table that holds the rows (it may be shared with other row kinds: rows are partitioned by `scope`). */
  tableName: string;
  /** Names this set of counters (a cluster name): rows of other scopes are never read or written. */
  scope: string;
  /** The node whose own count {@link WindowedCounterTable.writeOwn} writes. */
  nodeId: string;
  /** Fed with every response's `Date` header, so window edges follow the server clock. */
  serverTime?: ServerTimeEstimate;
  /** Deadline of each storage call. @default 2000 */
  callTimeoutMs?: number;
}

/** One node's count of one key in one window, as stored. */
export interface WindowCount {
  key: string;
  nodeId: string;
  count: number;
}

/**
 * A grow-only counter per key and fixed time window, kept in a table as one row per node, key and
 * window. Each node writes only its own rows (no write conflicts, so no ETags), and a reader sums
 * every node's row: the G-counter merge, with the table as the place the states meet.
 *
 * @example
 * ```ts
 * const counters = new WindowedCounterTable({ storage, tableName: bus.tableName, scope: 'api', nodeId });
 * await counters.writeOwn(window, [{ key: 'client-7', count: 12 }]);
 * for (const row of await counters.readWindow(window)) total += row.count;
 * await counters.deleteOwnBefore(window - 1);
 * ```
 */
export class WindowedCounterTable {
  readonly scope: string;
  readonly nodeId: string;
  readonly #storage: StorageConnection;
  readonly #tableName: string;
  readonly #serverTime: ServerTimeEstimate | undefined;
  readonly #callTimeoutMs: number;
  #table: TableClient | undefined;
  #tableReady = false;
  /** Own rows written, by window: deleted once their window can no longer be read. */
  readonly #ownRows = new Map<number, Array<{ partitionKey: string; rowKey: string }>>();

  constructor(options: WindowedCounterTableOptions) {
    if (!options?.scope || !options.nodeId || !options.tableName) {
      throw new GossiplessError('INVALID_OPTIONS', 'WindowedCounterTable needs scope, nodeId and tableName');
    }
    this.scope = options.scope;
    this.nodeId = options.nodeId;
    this.#storage = options.storage;
    this.#tableName = options.tableName;
    this.#serverTime = options.serverTime;
    this.#callTimeoutMs = options.callTimeoutMs ?? 2000;
  }

  /** Writes this node's counts of `window` (replacing what it wrote before for those keys). */
  async writeOwn(window: number, counts: ReadonlyArray<{ key: string; count: number }>): Promise<void> {
    const table = await this.#ready();
    const rowKey = `${windowKey(window)}~${this.nodeId}`;
    await Promise.all(
      counts.map(async ({ key, count }) => {
        const partitionKey = this.#partition(key);
        try {
          await table.upsertEntity(
            { partitionKey, rowKey, key, nodeId: this.nodeId, count, window },
            'Replace',
            { abortSignal: deadlineSignal(this.#callTimeoutMs), onResponse: this.#observer() },
          );
        } catch (error) {
          throw storageFailure(`counter write on table ${this.#tableName}`, error);
        }
        const rows = this.#ownRows.get(window) ?? [];
        if (!rows.some((r) => r.partitionKey === partitionKey)) rows.push({ partitionKey, rowKey });
        this.#ownRows.set(window, rows);
      }),
    );
  }

  /** Every node's counts of `window` for every key of this scope, in one range query. */
  async readWindow(window: number): Promise<WindowCount[]> {
    const table = await this.#ready();
    const wk = windowKey(window);
    // Node ids sort below '~', so [window~, window~~) holds exactly this window's rows; ';' follows ':'.
    const rows = table.listEntities<{ key?: unknown; nodeId?: unknown; count?: unknown }>({
      queryOptions: {
        filter:
          counterPartitionsFilter(this.scope) +
          ` and RowKey ge ${odataString(`${wk}~`)} and RowKey lt ${odataString(`${wk}~~`)}`,
      },
      abortSignal: deadlineSignal(this.#callTimeoutMs),
      onResponse: this.#observer(),
    });
    const out: WindowCount[] = [];
    try {
      for await (const row of rows) {
        // Rows are written by other processes: only well-formed ones count.
        if (typeof row.key !== 'string' || typeof row.nodeId !== 'string' || typeof row.count !== 'number')
          continue;
        out.push({ key: row.key, nodeId: row.nodeId, count: row.count });
      }
    } catch (error) {
      throw storageFailure(`counter read on table ${this.#tableName}`, error);
    }
    return out;
  }

  /** Deletes this node's rows of windows before `window` (nobody reads them any more). */
  async deleteOwnBefore(window: number): Promise<void> {
    const table = await this.#ready();
    for (const [rowWindow, rows] of this.#ownRows) {
      if (rowWindow >= window) continue;
      await Promise.all(
        rows.map(async ({ partitionKey, rowKey }) => {
          try {
            await table.deleteEntity(partitionKey, rowKey, {
              abortSignal: deadlineSignal(this.#callTimeoutMs),
            });
          } catch (error) {
            if (!isNotFound(error)) throw storageFailure(`counter delete on table ${this.#tableName}`, error);
          }
        }),
      );
      this.#ownRows.delete(rowWindow);
    }
  }

  async #ready(): Promise<TableClient> {
    const table = (this.#table ??= this.#storage.tableClient(this.#tableName));
    if (!this.#tableReady) {
      try {
        await this.#storage.createTableIfNotExists(this.#tableName, {
          abortSignal: deadlineSignal(this.#callTimeoutMs),
        });
      } catch (error) {
        throw storageFailure(`create table ${this.#tableName}`, error);
      }
      this.#tableReady = true;
    }
    return table;
  }

  /** Partition of a key's counters: one per key, so a key's rows sit together. */
  #partition(key: string): string {
    const encoded = encodeURIComponent(key);
    const safe = encoded.length <= 512 ? encoded : createHash('sha256').update(key).digest('hex');
    return counterPartition(this.scope, safe);
  }

  #observer(): ((response: { headers: { get(name: string): string | undefined } }) => void) | undefined {
    const serverTime = this.#serverTime;
    if (!serverTime) return undefined;
    const sentAt = serverTime.monotonicNow();
    return (response) => serverTime.observe(response.headers.get('date'), sentAt);
  }
}

function windowKey(window: number): string {
  return String(window).padStart(16, '0');
}
