import {
  BlobServiceClient,
  newPipeline,
  StorageSharedKeyCredential,
  type ContainerClient,
  type RequestPolicy,
  type RequestPolicyFactory,
} from '@azure/storage-blob';
import {
  AzureNamedKeyCredential,
  AzureSASCredential,
  TableClient,
  TableServiceClient,
  type TableServiceClientOptions,
} from '@azure/data-tables';
import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential } from '@azure/identity';
import { GossiplessError } from '../errors/index.js';
import { redactUnknown } from '../redact/index.js';
import { isAlreadyExists, isForbidden, storageErrorCode, storageStatusCode } from './storage-errors.js';
import { LeasePriorityGate } from './lease-priority.js';
import { StorageTransactionCounter } from './transaction-counter.js';
import { isThrottledResponse } from './backoff.js';

/** Name of the environment variable read when {@link connectStorage} gets no target. */
export const CONNECTION_STRING_ENV = 'AZURE_STORAGE_CONNECTION_STRING';

/**
 * Read when {@link connectStorage} gets no target and no connection string is set: the account is
 * reached with `DefaultAzureCredential` (managed or workload identity), so no key is deployed.
 */
export const ACCOUNT_NAME_ENV = 'AZURE_STORAGE_ACCOUNT_NAME';

/** Connect with a connection string (Azurite's, or an account's with a key or SAS). */
export interface ConnectionStringTarget {
  connectionString: string;
}

/** Connect to an account by name; the credential defaults to `DefaultAzureCredential`. */
export interface AccountNameTarget {
  accountName: string;
  /** @default new DefaultAzureCredential() */
  credential?: TokenCredential;
  /** @default 'core.windows.net' */
  endpointSuffix?: string;
}

/** Connect to explicit endpoints, with a token credential, a SAS token, or an account key. */
export interface EndpointsTarget {
  blobEndpoint: string;
  tableEndpoint: string;
  /** A token credential; defaults to `DefaultAzureCredential` when neither `sas` nor `accountKey` is given. */
  credential?: TokenCredential;
  /** A SAS token (with or without the leading `?`) valid for both services. */
  sas?: string;
  /** Account name and key, for shared-key auth against explicit endpoints (e.g. Azurite). */
  sharedKey?: { accountName: string; accountKey: string };
}

/** Where the storage account is. */
export type StorageTarget = ConnectionStringTarget | AccountNameTarget | EndpointsTarget;

/**
 * One storage account, reached for blobs and tables. SDK retries are disabled on purpose: the
 * lease logic needs each call to end by its own deadline, and every loop in gossipless retries
 * on its own schedule.
 */
export interface StorageConnection {
  /** A human-readable, secret-free description (account and endpoints). */
  readonly description: string;
  /** Account name, when known. */
  readonly accountName: string | undefined;
  readonly blobService: BlobServiceClient;
  /** A container client (does not create the container). */
  containerClient(containerName: string): ContainerClient;
  /** A table client (does not create the table). */
  tableClient(tableName: string): TableClient;
  /** The table service client, for listing tables. */
  readonly tableService: TableServiceClient;
  /**
   * Lease renewals first: table calls of this connection (membership, bus) wait briefly while the
   * lease elector holds this gate. Absent on hand-made connections, which then have no priority.
   */
  readonly leasePriority?: LeasePriorityGate;
  /**
   * Every request this connection sends, counted by kind at the HTTP pipeline (see
   * {@link StorageTransactionCounter}). Absent on hand-made connections.
   */
  readonly transactions?: StorageTransactionCounter;
  /**
   * Creates the container; an existing one is success. A 403 is also `{ created: false }`: with a
   * role scoped to the container itself, creating is not allowed and the container is provisioned
   * beforehand (if it is missing after all, the next blob call says 404).
   */
  createContainerIfNotExists(
    containerName: string,
    options?: { abortSignal?: AbortSignal },
  ): Promise<{ created: boolean }>;
  /** Creates the table; an existing one is success, and so is a 403 (see createContainerIfNotExists). */
  createTableIfNotExists(
    tableName: string,
    options?: { abortSignal?: AbortSignal },
  ): Promise<{ created: boolean }>;
}

// One try per call: see StorageConnection. tryTimeoutInMs is a backstop; callers pass tighter deadlines.
const BLOB_PIPELINE = { retryOptions: { maxTries: 1, tryTimeoutInMs: 30_000 } };
const TABLE_PIPELINE: TableServiceClientOptions = { retryOptions: { maxRetries: 0 } };
/** Longest a table call waits for a due lease renewal (a pause, never a stall of membership). */
const LEASE_PRIORITY_MAX_WAIT_MS = 1000;

/** Table client options whose calls yield to a due lease renewal (see LeasePriorityGate). */
function tableOptionsWith(
  gate: LeasePriorityGate,
  counter: StorageTransactionCounter,
  allowInsecureConnection: boolean,
): TableServiceClientOptions {
  return {
    ...TABLE_PIPELINE,
    allowInsecureConnection,
    additionalPolicies: [
      {
        // Per retry: what is counted is what is sent, the unit the bill counts.
        position: 'perRetry',
        policy: {
          name: 'gossipless-transaction-counter',
          async sendRequest(request, next) {
            const kind = counter.request({
              service: 'table',
              method: request.method,
              url: request.url,
              body: request.body,
            });
            const response = await next(request);
            if (isThrottledResponse(response.status, response.headers.get('x-ms-error-code'))) {
              counter.throttled(kind);
            }
            return response;
          },
        },
      },
      {
        position: 'perCall',
        policy: {
          name: 'gossipless-lease-priority',
          async sendRequest(request, next) {
            await gate.whenClear(LEASE_PRIORITY_MAX_WAIT_MS, request.abortSignal as AbortSignal | undefined);
            return next(request);
          },
        },
      },
    ],
  };
}

/**
 * The same blob service client, with a request policy that counts each request. The blob SDK takes
 * no per-client policies in its options, so the client is rebuilt on a pipeline carrying the
 * counting policy (its credential and URL, SAS included, are the parsed client's own).
 */
function countingBlobService(
  parsed: BlobServiceClient,
  counter: StorageTransactionCounter,
): BlobServiceClient {
  const pipeline = newPipeline(parsed.credential, BLOB_PIPELINE);
  const counting: RequestPolicyFactory = {
    create: (next: RequestPolicy): RequestPolicy => ({
      async sendRequest(request) {
        const leaseAction = request.headers.get('x-ms-lease-action');
        const kind = counter.request({
          service: 'blob',
          method: request.method,
          url: request.url,
          leaseAction,
        });
        let response;
        try {
          response = await next.sendRequest(request);
        } catch (error) {
          // This policy sits before the blob SDK's deserialisation, which throws on error statuses.
          const answer = (error as { response?: { headers?: { get(name: string): string | undefined } } })
            .response;
          const code = storageErrorCode(error) ?? answer?.headers?.get('x-ms-error-code');
          if (isThrottledResponse(storageStatusCode(error), code)) counter.throttled(kind);
          throw error;
        }
        if (isThrottledResponse(response.status, response.headers.get('x-ms-error-code'))) {
          counter.throttled(kind);
        }
        return response;
      },
    }),
  };
  pipeline.factories.push(counting);
  return new BlobServiceClient(parsed.url, pipeline);
}

function parseConnectionString(connectionString: string): Map<string, string> {
  const parts = new Map<string, string>();
  for (const segment of connectionString.split(';')) {
    const eq = segment.indexOf('=');
    if (eq <= 0) continue;
    parts.set(segment.slice(0, eq).trim().toLowerCase(), segment.slice(eq + 1).trim());
  }
  return parts;
}

function isInsecure(url: string): boolean {
  return url.startsWith('http://');
}

function describeEndpoints(accountName: string | undefined, blobUrl: string, tableUrl: string): string {
  const strip = (u: string): string => u.split('?')[0] ?? u;
  return `account ${accountName ?? '(unknown)'} (blob ${strip(blobUrl)}, table ${strip(tableUrl)})`;
}

function fromConnectionString(connectionString: string): StorageConnection {
  const parts = parseConnectionString(connectionString);
  const accountName = parts.get('accountname');
  if (connectionString.trim().toLowerCase() === 'usedevelopmentstorage=true') {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      'UseDevelopmentStorage=true assumes Azurite on its default ports; run `gossipless dev` and use the connection string it prints',
    );
  }
  let blobService: BlobServiceClient;
  try {
    blobService = BlobServiceClient.fromConnectionString(connectionString, BLOB_PIPELINE);
  } catch (error) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `the storage connection string could not be parsed (${redactUnknown(error)}); copy it again from the portal or from \`gossipless dev\``,
    );
  }
  const tableUrl = parts.get('tableendpoint');
  const allowInsecureConnection = tableUrl
    ? isInsecure(tableUrl)
    : parts.get('defaultendpointsprotocol') === 'http';
  const leasePriority = new LeasePriorityGate();
  const transactions = new StorageTransactionCounter();
  blobService = countingBlobService(blobService, transactions);
  const tableOptions = tableOptionsWith(leasePriority, transactions, allowInsecureConnection);
  let tableService: TableServiceClient;
  try {
    tableService = TableServiceClient.fromConnectionString(connectionString, tableOptions);
  } catch (error) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `the storage connection string has no usable table endpoint (${redactUnknown(error)}); it needs TableEndpoint= or AccountName=`,
    );
  }
  return makeConnection({
    accountName,
    blobService,
    tableService,
    tableClient: (name) => TableClient.fromConnectionString(connectionString, name, tableOptions),
    leasePriority,
    transactions,
  });
}

function fromEndpoints(target: EndpointsTarget): StorageConnection {
  const leasePriority = new LeasePriorityGate();
  const transactions = new StorageTransactionCounter();
  const tableOptions = tableOptionsWith(leasePriority, transactions, isInsecure(target.tableEndpoint));
  const counted = (client: BlobServiceClient): BlobServiceClient => countingBlobService(client, transactions);
  if (target.sharedKey) {
    const { accountName, accountKey } = target.sharedKey;
    const blobService = counted(
      new BlobServiceClient(
        target.blobEndpoint,
        new StorageSharedKeyCredential(accountName, accountKey),
        BLOB_PIPELINE,
      ),
    );
    const credential = new AzureNamedKeyCredential(accountName, accountKey);
    return makeConnection({
      accountName,
      blobService,
      tableService: new TableServiceClient(target.tableEndpoint, credential, tableOptions),
      tableClient: (name) => new TableClient(target.tableEndpoint, name, credential, tableOptions),
      leasePriority,
      transactions,
    });
  }
  if (target.sas !== undefined) {
    const sas = target.sas.startsWith('?') ? target.sas.slice(1) : target.sas;
    const join = (url: string): string => `${url}${url.includes('?') ? '&' : '?'}${sas}`;
    const blobService = counted(new BlobServiceClient(join(target.blobEndpoint), undefined, BLOB_PIPELINE));
    const credential = new AzureSASCredential(sas);
    return makeConnection({
      accountName: undefined,
      blobService,
      tableService: new TableServiceClient(target.tableEndpoint, credential, tableOptions),
      tableClient: (name) => new TableClient(target.tableEndpoint, name, credential, tableOptions),
      blobUrlForDescription: target.blobEndpoint,
      leasePriority,
      transactions,
    });
  }
  const credential = target.credential ?? new DefaultAzureCredential();
  return makeConnection({
    accountName: undefined,
    blobService: counted(new BlobServiceClient(target.blobEndpoint, credential, BLOB_PIPELINE)),
    tableService: new TableServiceClient(target.tableEndpoint, credential, tableOptions),
    tableClient: (name) => new TableClient(target.tableEndpoint, name, credential, tableOptions),
    leasePriority,
    transactions,
  });
}

interface ConnectionParts {
  accountName: string | undefined;
  blobService: BlobServiceClient;
  tableService: TableServiceClient;
  tableClient(name: string): TableClient;
  blobUrlForDescription?: string;
  leasePriority: LeasePriorityGate;
  transactions: StorageTransactionCounter;
}

function makeConnection(parts: ConnectionParts): StorageConnection {
  const { blobService, tableService } = parts;
  const accountName = parts.accountName ?? (blobService.accountName || undefined);
  return {
    description: describeEndpoints(
      accountName,
      parts.blobUrlForDescription ?? blobService.url,
      tableService.url,
    ),
    accountName,
    blobService,
    tableService,
    leasePriority: parts.leasePriority,
    transactions: parts.transactions,
    containerClient: (name) => blobService.getContainerClient(name),
    tableClient: parts.tableClient,
    async createContainerIfNotExists(containerName, options = {}) {
      try {
        await blobService.getContainerClient(containerName).create({ abortSignal: options.abortSignal });
        return { created: true };
      } catch (error) {
        if (isAlreadyExists(error) || isForbidden(error)) return { created: false };
        throw error;
      }
    },
    async createTableIfNotExists(tableName, options = {}) {
      // The tables SDK swallows 409 TableAlreadyExists itself, so the status tells us which it was.
      let status: number | undefined;
      try {
        await tableService.createTable(tableName, {
          abortSignal: options.abortSignal,
          onResponse: (response) => (status = response.status),
        });
      } catch (error) {
        if (isAlreadyExists(error) || isForbidden(error)) return { created: false };
        throw error;
      }
      return { created: status !== 409 };
    },
  };
}

/**
 * Connects to a storage account. With no argument, reads `AZURE_STORAGE_CONNECTION_STRING`.
 * Nothing is sent over the network until a client is used.
 *
 * @throws GossiplessError `STORAGE_NOT_CONFIGURED` when no target is given and the variable is unset.
 * @example
 * ```ts
 * const storage = connectStorage();                                  // from the environment
 * const storage = connectStorage({ accountName: 'myaccount' });      // DefaultAzureCredential
 * const storage = connectStorage({ connectionString: process.env.AZURE_STORAGE_CONNECTION_STRING! });
 * ```
 */
export function connectStorage(
  target?: StorageTarget,
  env: NodeJS.ProcessEnv = process.env,
): StorageConnection {
  if (target === undefined) {
    const fromEnv = env[CONNECTION_STRING_ENV];
    if (!fromEnv || fromEnv.trim() === '') {
      // An identity-based deployment (AKS workload identity, Container Apps managed identity)
      // configures an account name only; the shims take no options, so it has to come from here.
      const accountName = env[ACCOUNT_NAME_ENV]?.trim();
      if (accountName) return connectStorage({ accountName });
      throw new GossiplessError(
        'STORAGE_NOT_CONFIGURED',
        `no storage configured: set ${CONNECTION_STRING_ENV}, or ${ACCOUNT_NAME_ENV} to use DefaultAzureCredential ` +
          '(managed or workload identity), or run `gossipless dev` to start a local Azurite and print a connection string',
      );
    }
    return fromConnectionString(fromEnv);
  }
  if ('connectionString' in target) {
    if (!target.connectionString) {
      throw new GossiplessError(
        'INVALID_OPTIONS',
        'connectionString is empty; pass a storage connection string',
      );
    }
    return fromConnectionString(target.connectionString);
  }
  if ('accountName' in target) {
    if (!/^[a-z0-9]{3,24}$/.test(target.accountName)) {
      throw new GossiplessError(
        'INVALID_OPTIONS',
        `accountName "${target.accountName}" is not a storage account name (3–24 lowercase letters and digits)`,
      );
    }
    const suffix = target.endpointSuffix ?? 'core.windows.net';
    return fromEndpoints({
      blobEndpoint: `https://${target.accountName}.blob.${suffix}`,
      tableEndpoint: `https://${target.accountName}.table.${suffix}`,
      credential: target.credential ?? new DefaultAzureCredential(),
    });
  }
  if ('blobEndpoint' in target && 'tableEndpoint' in target) return fromEndpoints(target);
  throw new GossiplessError(
    'INVALID_OPTIONS',
    'storage target must have connectionString, accountName, or blobEndpoint + tableEndpoint',
  );
}
