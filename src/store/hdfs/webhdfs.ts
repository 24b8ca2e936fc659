/**
 * A small WebHDFS REST client (Hadoop's HTTP file system API, `/webhdfs/v1`),
 * over node:http rather than fetch: the DataNode answers a CREATE with an
 * unsolicited `100 Continue` before its `201`, which fetch (undici) rejects and
 * node:http handles; node:http also streams request and response bodies, so
 * memory stays bounded whatever the file size.
 *
 * Wire contract used (Hadoop 2.x/3.x):
 *   GET    ?op=GETFILESTATUS             200 {"FileStatus":{type,length,...}} | 404 FileNotFoundException
 *   GET    ?op=LISTSTATUS                200 {"FileStatuses":{"FileStatus":[{pathSuffix,...}]}}
 *   PUT    ?op=MKDIRS                    200 {"boolean":true}
 *   PUT    ?op=CREATE&overwrite=..       307 Location: <datanode url>; PUT body there -> 201
 *   PUT    ?op=RENAME&destination=/p&renameoptions=OVERWRITE
 *                                        200 (empty): rename2, atomically replaces an existing file
 *          without renameoptions the old rename returns {"boolean":false} when the
 *          destination exists, and moves *into* it when it is a directory - we never use that form.
 *   DELETE ?op=DELETE&recursive=..       200 {"boolean":true|false}
 *   GET    ?op=OPEN                      307 Location: <datanode url>; GET there -> 200 body
 *   errors                               {"RemoteException":{"exception","javaClassName","message"}}
 *
 * Auth: simple (`user.name=`), a delegation token (`delegation=`), or Kerberos
 * SPNEGO (`Authorization: Negotiate`, via the optional `kerberos` npm package;
 * the NameNode then puts a delegation token into the DataNode redirect itself).
 *
 * Retries: `call()` retries connection failures, 5xx, and RemoteExceptions that
 * say "try again" (RetriableException, StandbyException, SafeModeException,
 * no live DataNode) with exponential backoff until `retryTimeoutMs` elapses.
 * CREATE is not retried here: the store retries a whole upload under a fresh
 * temporary name (a half-written file keeps a lease that blocks a rewrite).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { SpotError, type ErrorCode } from '../../errors.ts';
import { retrying } from '../../retry.ts';

export type HdfsAuth =
  | { kind: 'simple'; user: string }
  | { kind: 'delegation'; token: string }
  | { kind: 'kerberos'; /** default `HTTP@<namenode host>` */ servicePrincipal?: string };

export interface WebHdfsOptions {
  /** `http(s)://namenode:9870` */
  baseUrl: string;
  auth?: HdfsAuth;
  /** Per-request idle timeout, default 60 s. */
  requestTimeoutMs?: number;
  /** How long retryable failures are retried, default 60 s. */
  retryTimeoutMs?: number;
  /** First backoff delay (doubles, max 5 s), default 200 ms. */
  backoffMs?: number;
  /** Told about each retried failure (for logs and metrics). */
  onRetry?: (what: string, attempt: number, err: SpotError) => void;
}

export interface FileStatus {
  pathSuffix: string;
  type: 'FILE' | 'DIRECTORY' | 'SYMLINK';
  length: number;
  modificationTime: number;
  permission: string;
  owner: string;
  group: string;
  replication: number;
}

interface RawResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

const RETRYABLE_EXCEPTIONS = /RetriableException|StandbyException|SafeModeException|ConnectException|NotReplicatedYetException|ObserverRetryOnActiveException|LeaseExpiredException/;
const RETRYABLE_MESSAGES = /Failed to find datanode|could only be (written|replicated) to 0|datanode.*(not|un)available|All datanodes .* are bad|Connection refused|Broken pipe|Premature EOF|Interrupted/i;
const RETRYABLE_SOCKET = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/** Turns a WebHDFS error response into a SpotError carrying the RemoteException text. */
export function remoteError(op: string, path: string, res: RawResponse): SpotError {
  let exception = '';
  const raw = res.body.toString('utf8');
  let message = raw.slice(0, 1000);
  try {
    const j = JSON.parse(raw) as { RemoteException?: { exception?: string; javaClassName?: string; message?: string } };
    if (j.RemoteException) {
      exception = j.RemoteException.exception ?? j.RemoteException.javaClassName ?? '';
      // the NameNode appends its Java stack trace to some messages; the first line is the news
      message = (j.RemoteException.message ?? '').split('\n\tat ')[0]!.slice(0, 1000);
    }
  } catch {
    /* not JSON (e.g. a proxy's HTML page) */
  }
  const text = `WebHDFS ${op} ${path}: HTTP ${res.status}${exception ? ` ${exception}` : ''}: ${message}`;
  let code: ErrorCode = 'HDFS_REMOTE';
  if (res.status === 404 || /FileNotFoundException/.test(exception)) code = 'HDFS_NOT_FOUND';
  // A path through a file (a/f.txt/x): Hadoop 3 reports it as an AccessControlException; it is absent, not forbidden.
  else if (/AccessControlException/.test(exception) && /\(is not a directory\)/.test(message)) code = 'HDFS_NOT_FOUND';
  else if (/AccessControlException|SecurityException/.test(exception) || res.status === 401) code = 'STORE_DENIED';
  else if (/FileAlreadyExistsException|AlreadyBeingCreatedException/.test(exception)) code = 'HDFS_EXISTS';
  // A file to be made below a file, or a file renamed over a directory (the Store contract's name for both).
  else if (/ParentNotDirectoryException/.test(exception) || (/IOException/.test(exception) && /must both be directories/.test(message))) code = 'STORE_PATH_CONFLICT';
  else if (/PathIsNotEmptyDirectoryException|IllegalArgumentException|InvalidPathException/.test(exception)) code = 'HDFS_INVALID';
  const retryable =
    code === 'HDFS_REMOTE' && (res.status >= 500 || RETRYABLE_EXCEPTIONS.test(exception) || RETRYABLE_MESSAGES.test(message));
  const fix = code === 'STORE_DENIED' ? ' (fix: give that user write access below hdfs_app_path, or set hdfs.user to one that has it)' : '';
  return new SpotError(retryable ? 'HDFS_UNAVAILABLE' : code, text + fix);
}

function socketError(op: string, url: string, err: unknown): SpotError {
  const e = err as NodeJS.ErrnoException;
  const retryable = RETRYABLE_SOCKET.has(e.code ?? '') || /socket hang up|timed out|aborted/i.test(e.message ?? '');
  return new SpotError(retryable ? 'HDFS_UNAVAILABLE' : 'HDFS_REQUEST_FAILED', `WebHDFS ${op} ${new URL(url).host}: ${e.message ?? String(err)}`, {
    cause: err,
  });
}

export class WebHdfsClient {
  readonly baseUrl: string;
  private readonly opts: WebHdfsOptions;
  private authCookie: string | undefined;

  constructor(opts: WebHdfsOptions) {
    const u = new URL(opts.baseUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new SpotError('CONFIG', `WebHDFS URL must be http(s)://host:port, got ${opts.baseUrl}`);
    }
    this.baseUrl = `${u.protocol}//${u.host}`;
    this.opts = opts;
  }

  /** NameNode URL for `op` on absolute HDFS `path`. */
  url(path: string, op: string, params: Record<string, string | number | boolean> = {}): string {
    const enc = path
      .split('/')
      .map((s) => encodeURIComponent(s))
      .join('/');
    const q = new URLSearchParams({ op });
    for (const [k, v] of Object.entries(params)) q.set(k, String(v));
    const auth = this.opts.auth;
    if (auth?.kind === 'simple') q.set('user.name', auth.user);
    else if (auth?.kind === 'delegation') q.set('delegation', auth.token);
    return `${this.baseUrl}/webhdfs/v1${enc.startsWith('/') ? '' : '/'}${enc}?${q.toString()}`;
  }

  private async authHeaders(url: string): Promise<Record<string, string>> {
    const auth = this.opts.auth;
    if (auth?.kind !== 'kerberos' || !url.startsWith(this.baseUrl)) return {};
    if (this.authCookie) return { cookie: this.authCookie };
    return { authorization: `Negotiate ${await spnegoToken(auth.servicePrincipal ?? `HTTP@${new URL(this.baseUrl).hostname}`)}` };
  }

  /** One HTTP exchange; the response body is buffered (metadata calls only). */
  async send(method: string, url: string, body?: Buffer | string | Readable, headers: Record<string, string> = {}): Promise<RawResponse> {
    const h: Record<string, string> = { ...(await this.authHeaders(url)), ...headers };
    const res = await this.exchange(method, url, body, h);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const setCookie = res.headers['set-cookie']?.find((c) => c.startsWith('hadoop.auth='));
    if (setCookie) this.authCookie = setCookie.split(';')[0];
    if (res.statusCode === 401 && this.authCookie) this.authCookie = undefined;
    return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
  }

  /** One HTTP exchange returning the live response (for OPEN's streamed body). */
  exchange(method: string, url: string, body: Buffer | string | Readable | undefined, headers: Record<string, string>): Promise<IncomingMessage> {
    const timeout = this.opts.requestTimeoutMs ?? 60_000;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { method, headers, timeout });
      let settled = false;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        req.destroy();
        reject(socketError(method, url, err));
      };
      req.on('timeout', () => fail(Object.assign(new Error(`timed out after ${timeout} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', fail);
      req.on('response', (res) => {
        if (settled) return;
        settled = true;
        resolve(res);
      });
      if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
        req.end(body);
      } else {
        body.once('error', (err) => fail(err));
        body.pipe(req);
      }
    });
  }

  /**
   * Sends a NameNode operation, retrying retryable failures; returns the
   * response when its status is one of `ok`, else throws the RemoteException.
   */
  async call(method: string, path: string, op: string, params: Record<string, string | number | boolean> = {}, ok: number[] = [200]): Promise<RawResponse> {
    return await this.retrying(`${op} ${path}`, async () => {
      const res = await this.send(method, this.url(path, op, params));
      if (!ok.includes(res.status)) throw remoteError(op, path, res);
      return res;
    });
  }

  /** Runs `fn` with the project's one backoff (src/retry.ts) until it succeeds, fails non-retryably, or the retry budget is spent. */
  async retrying<R>(what: string, fn: (attempt: number) => Promise<R>): Promise<R> {
    return await retrying(fn, {
      initialMs: this.opts.backoffMs ?? 200, maxMs: 5_000, budgetMs: this.opts.retryTimeoutMs ?? 60_000,
      onRetry: (err, attempt) => this.opts.onRetry?.(what, attempt, err),
    });
  }

  async getFileStatus(path: string): Promise<FileStatus | undefined> {
    try {
      const res = await this.call('GET', path, 'GETFILESTATUS');
      return (JSON.parse(res.body.toString('utf8')) as { FileStatus: FileStatus }).FileStatus;
    } catch (err) {
      if (err instanceof SpotError && err.code === 'HDFS_NOT_FOUND') return undefined;
      throw err;
    }
  }

  /** Entries of a directory; undefined when it does not exist. */
  async listStatus(path: string): Promise<FileStatus[] | undefined> {
    try {
      const res = await this.call('GET', path, 'LISTSTATUS');
      return (JSON.parse(res.body.toString('utf8')) as { FileStatuses: { FileStatus: FileStatus[] } }).FileStatuses.FileStatus;
    } catch (err) {
      if (err instanceof SpotError && err.code === 'HDFS_NOT_FOUND') return undefined;
      throw err;
    }
  }

  async mkdirs(path: string, permission?: string): Promise<void> {
    const res = await this.call('PUT', path, 'MKDIRS', permission ? { permission } : {});
    if (!(JSON.parse(res.body.toString('utf8')) as { boolean: boolean }).boolean) {
      throw new SpotError('HDFS_REMOTE', `WebHDFS MKDIRS ${path} returned false`);
    }
  }

  /** False when there was nothing to delete. */
  async delete(path: string, recursive: boolean): Promise<boolean> {
    try {
      const res = await this.call('DELETE', path, 'DELETE', { recursive });
      return (JSON.parse(res.body.toString('utf8')) as { boolean: boolean }).boolean;
    } catch (err) {
      if (err instanceof SpotError && err.code === 'HDFS_NOT_FOUND') return false;
      throw err;
    }
  }

  /** rename2 with OVERWRITE: `dst` (a file, or absent) is atomically replaced by `src`. */
  async renameOverwrite(src: string, dst: string): Promise<void> {
    await this.call('PUT', src, 'RENAME', { destination: dst, renameoptions: 'OVERWRITE' });
  }

  async setOwner(path: string, owner: string, group?: string): Promise<void> {
    await this.call('PUT', path, 'SETOWNER', group ? { owner, group } : { owner });
  }

  /**
   * CREATE in two steps: ask the NameNode (which picks a DataNode), then stream
   * the body to the DataNode. Single attempt; see the module comment.
   */
  async create(path: string, body: () => Readable | Buffer, params: { overwrite: boolean; permission?: string }): Promise<void> {
    const p: Record<string, string | number | boolean> = { overwrite: params.overwrite };
    if (params.permission) p.permission = params.permission;
    const step1 = await this.send('PUT', this.url(path, 'CREATE', p));
    if (step1.status !== 307 || typeof step1.headers.location !== 'string') throw remoteError('CREATE', path, step1);
    const step2 = await this.send('PUT', step1.headers.location, body(), { 'content-type': 'application/octet-stream' });
    if (step2.status !== 201) throw remoteError('CREATE', path, step2);
  }

  /** OPEN (of `length` bytes from `offset` when given): the live DataNode response (status 200), or throws. */
  async open(path: string, range?: { offset: number; length: number }): Promise<IncomingMessage> {
    return await this.retrying(`OPEN ${path}`, async () => {
      const step1 = await this.send('GET', this.url(path, 'OPEN', range ? { offset: range.offset, length: range.length } : {}));
      if (step1.status !== 307 || typeof step1.headers.location !== 'string') throw remoteError('OPEN', path, step1);
      const res = await this.exchange('GET', step1.headers.location, undefined, {});
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        for await (const c of res) chunks.push(c as Buffer);
        throw remoteError('OPEN', path, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      }
      return res;
    });
  }
}

interface KerberosModule {
  initializeClient(service: string, options?: Record<string, unknown>): Promise<{ step(challenge: string): Promise<string> }>;
  GSS_MECH_OID_SPNEGO?: unknown;
}

/**
 * A SPNEGO token for `service` (`HTTP@host`) from the ticket cache (kinit),
 * through the optional `kerberos` npm package (MongoDB's GSSAPI binding).
 */
async function spnegoToken(service: string): Promise<string> {
  let krb: KerberosModule;
  try {
    const name = 'kerberos';
    const mod = (await import(name)) as { default?: KerberosModule } & KerberosModule;
    krb = typeof mod.initializeClient === 'function' ? mod : (mod.default as KerberosModule);
  } catch (err) {
    throw new SpotError(
      'NOT_SUPPORTED',
      'HDFS Kerberos (SPNEGO) needs the optional npm package "kerberos" (npm install kerberos) and a ticket from kinit; ' +
        'alternatively obtain a delegation token (hdfs fetchdt) and configure hdfs_auth {"kind":"delegation","token":...}',
      { cause: err },
    );
  }
  const client = await krb.initializeClient(service, krb.GSS_MECH_OID_SPNEGO === undefined ? {} : { mechOID: krb.GSS_MECH_OID_SPNEGO });
  return await client.step('');
}
