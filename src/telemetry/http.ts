/**
 * The telemetry endpoint of `start`, `collector` and `worker` (--http HOST:PORT):
 *   GET /metrics      Prometheus text format
 *   GET /healthz      200 while the process runs (liveness)
 *   GET /readyz       200 when the queue and the store answer, else 503 (readiness), JSON body
 *   GET /api/status   the status report as JSON (what the page shows)
 *   GET /             the status page (self-contained HTML, no external resources)
 * A port already in use is logged as an error and the command goes on without
 * the endpoint: ingest never stops because of monitoring.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpotError, errorMessage } from '../errors.ts';
import type { Logger } from './log.ts';
import { STATUS_PAGE } from './status-page.ts';

/** Documented default ports: start 9464, a standalone collector 9465, a standalone worker 9466 + its id. */
export const DEFAULT_PORTS = { start: 9464, collector: 9465, worker: 9466 } as const;

export interface HttpEndpoint {
  readonly host: string;
  readonly port: number;
}

export const HTTP_OPTION_HELP = '--http HOST:PORT|PORT|off';

/**
 * Set by `start` for its children: '1' when it serves an endpoint (the children's process metrics, pushed
 * to it, are on its /metrics), '0' when it runs with --http off (nothing would ever read them).
 */
export const PARENT_SERVES_ENV = 'SPOT_INGEST_PARENT_SERVES';

/** Parses --http: undefined -> 127.0.0.1:<defaultPort>; 'off' -> null; 'HOST:PORT', '[v6]:PORT' or 'PORT'. */
export function parseHttpOption(value: string | undefined, defaultPort: number): HttpEndpoint | null {
  if (value === undefined) return { host: '127.0.0.1', port: defaultPort };
  if (value === 'off' || value === 'none' || value === 'false') return null;
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SpotError('USAGE', `--http: expected HOST:PORT, PORT or off, got ${JSON.stringify(value)}`);
  }
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

export interface Readiness {
  readonly ok: boolean;
  readonly checks: Record<string, string>;
}

export interface TelemetryHandlers {
  metrics(): Promise<string>;
  ready(): Promise<Readiness>;
  status(): Promise<unknown>;
}

export interface TelemetryServer {
  readonly url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, code: number, type: string, body: string, head: boolean): void {
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

async function route(req: IncomingMessage, res: ServerResponse, h: TelemetryHandlers): Promise<void> {
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) return send(res, 405, 'text/plain', 'method not allowed\n', head);
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  switch (path) {
    case '/metrics':
      return send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', await h.metrics(), head);
    case '/healthz':
      return send(res, 200, 'text/plain', 'ok\n', head);
    case '/readyz': {
      const r = await h.ready();
      return send(res, r.ok ? 200 : 503, 'application/json', `${JSON.stringify(r)}\n`, head);
    }
    case '/api/status':
      return send(res, 200, 'application/json', JSON.stringify(await h.status()), head);
    case '/':
    case '/index.html':
      return send(res, 200, 'text/html; charset=utf-8', STATUS_PAGE, head);
    default:
      return send(res, 404, 'text/plain', 'not found\n', head);
  }
}

/** Serves the endpoint; null when it could not listen (logged). */
export async function serveTelemetry(endpoint: HttpEndpoint, handlers: TelemetryHandlers, log: Logger): Promise<TelemetryServer | null> {
  // Loaded here, not above: every command imports this module (its option parser), and node:http's module
  // namespace loads undici (~50 ms) though `--http off` and the command-line help never serve anything.
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    route(req, res, handlers).catch((err) => {
      log.warn({ err: errorMessage(err), path: req.url }, 'http request failed');
      if (!res.headersSent) send(res, 500, 'text/plain', `${errorMessage(err)}\n`, false);
      else res.end();
    });
  });
  server.keepAliveTimeout = 5_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(endpoint.port, endpoint.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    log.error({ err: errorMessage(err), host: endpoint.host, port: endpoint.port },
      'cannot serve metrics and status page (use --http HOST:PORT for another port, or --http off); ingest goes on');
    return null;
  }
  server.unref();
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}/`;
  log.info({ url }, 'status page and metrics listening');
  return {
    url,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
