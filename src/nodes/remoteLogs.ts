import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Writable } from 'node:stream';
import { drained } from '../drained.js';
import { RunboxError } from '../errors/index.js';
import type { LogStream } from '../executor/Executor.js';
import type { WorkerRecord } from '../queue/types.js';
import { workerSharesDataDir } from './dataDirWorkers.js';

/**
 * `logs -f` of a job running on another node: this node asks the owning node's API
 * (its address in the worker registry) for the live bytes of that one attempt, from the
 * byte it has sent so far, and passes them on untouched. Chosen over a tail kept in the
 * database because it costs nothing while nobody follows (a tail in PostgreSQL would
 * write every byte of every job twice), and the bytes come from the same live file a
 * local follower reads, so the stored log still begins with exactly them.
 *
 * The owner's route (GET /v1/jobs/{id}/attempts/{n}/live-log) never proxies further,
 * so a follow is one hop. The database stays the judge: while proxying, the attempt is
 * checked every WATCH_MS, and the copy stops once it ended, moved, or its worker stopped
 * heartbeating (a dead node is noticed by the database's clock, not by a TCP timeout).
 */

/** How long a connection to another node may take before it counts as unreachable. */
const CONNECT_MS = 3000;
/** How long a node may take to answer a read without follow. */
const ANSWER_MS = 10_000;
/** How often a proxied follow asks the database whether the attempt still runs there. */
const WATCH_MS = 1000;

export interface LogOwner {
  workerId: string;
  /** Base URL of its node's API. */
  address: string;
  alive: boolean;
}

export interface RemoteLogsOptions {
  /** Every worker row (the registry), with addresses where the backend keeps them. */
  workers(): Promise<WorkerRecord[]>;
  /** This node's own advertised URL (its jobs are read from local files). */
  self(): string | null;
  /** Sent as the bearer token: nodes of one cluster share one. */
  token: string | null;
  /** This machine's name as workers record theirs (os.hostname()). */
  host: string;
  /** This node's data dir: a worker on this machine that marked it shares its live files. */
  dataDir: string;
}

export interface RemoteAttempt {
  jobId: string;
  attempt: number;
  stream: LogStream;
  /** Bytes of this attempt the follower already has. */
  from: number;
  follow: boolean;
}

export class RemoteLogs {
  constructor(private readonly options: RemoteLogsOptions) {}

  /**
   * The other node running `job`'s current attempt, or null: not running, run by this
   * node (or a worker process beside it sharing its data dir), or by a worker whose
   * node advertised no address (a `runbox worker` without advertiseUrl).
   */
  async ownerOf(job: { status: string; worker_id: string | null }): Promise<LogOwner | null> {
    if (job.status !== 'running' || job.worker_id === null) return null;
    const worker = (await this.options.workers()).find((w) => w.id === job.worker_id);
    const address = worker?.address ?? null;
    if (!worker || address === null || address === this.options.self()) return null;
    return { workerId: worker.id, address, alive: worker.alive };
  }

  /**
   * The live worker running `job` whose node advertised no address (a `runbox worker`
   * without advertiseUrl) and that does not share this node's data dir: nobody can be
   * asked for its live log. Null otherwise; a worker that shares the data dir (a
   * `runbox worker` beside this serve) writes its live files where this node reads them.
   */
  async unaddressedOwnerOf(job: {
    status: string;
    worker_id: string | null;
  }): Promise<WorkerRecord | null> {
    if (job.status !== 'running' || job.worker_id === null) return null;
    const worker = (await this.options.workers()).find((w) => w.id === job.worker_id);
    if (!worker?.alive || (worker.address ?? null) !== null) return null;
    const sharing =
      worker.host === this.options.host &&
      (await workerSharesDataDir(this.options.dataDir, worker.id));
    return sharing ? null : worker;
  }

  /**
   * Opens the owner's live log of one attempt. Rejects NodeUnreachable when the node
   * does not accept the connection within CONNECT_MS or refuses the request.
   */
  open(
    owner: LogOwner,
    attempt: RemoteAttempt,
    stillHeld?: () => Promise<boolean>,
  ): Promise<IncomingMessage> {
    const url = new URL(
      `/v1/jobs/${encodeURIComponent(attempt.jobId)}/attempts/${attempt.attempt}/live-log`,
      owner.address,
    );
    url.searchParams.set('stream', attempt.stream);
    url.searchParams.set('from', String(attempt.from));
    url.searchParams.set('follow', String(attempt.follow));
    const unreachable = (why: string, cause?: unknown) =>
      new RunboxError(
        'NodeUnreachable',
        `job ${attempt.jobId} runs on worker ${owner.workerId} at ${owner.address}, which ${why}; ` +
          'its log is readable here once the attempt ends, or once its lease expires and it runs again',
        { field: 'worker_id', cause },
      );
    return new Promise((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, {
        headers: this.options.token ? { authorization: `Bearer ${this.options.token}` } : {},
      });
      let timer = setTimeout(() => {
        req.destroy(unreachable(`did not connect within ${CONNECT_MS / 1000} s`));
      }, CONNECT_MS);
      // Connected: without follow the owner answers at once (ANSWER_MS bounds a node
      // that hangs). With follow its first bytes may be minutes away (a silent job),
      // so the database decides instead whether that node still runs the attempt.
      let watch: NodeJS.Timeout | undefined;
      const connected = () => {
        clearTimeout(timer);
        if (!attempt.follow) {
          timer = setTimeout(() => {
            req.destroy(unreachable(`did not answer within ${ANSWER_MS / 1000} s`));
          }, ANSWER_MS);
        } else if (stillHeld) {
          watch = setInterval(() => {
            stillHeld().then(
              (held) => {
                if (!held) req.destroy(unreachable('no longer runs that attempt'));
              },
              () => undefined,
            );
          }, WATCH_MS);
        }
      };
      const settled = () => {
        clearTimeout(timer);
        clearInterval(watch);
      };
      req.once('socket', (socket) => {
        if (!socket.connecting) connected();
        else socket.once('connect', connected);
      });
      // on, not once: an error after the answer began (a reset) must not go unheard.
      req.on('error', (error) => {
        settled();
        reject(
          error instanceof RunboxError
            ? error
            : unreachable(`does not answer (${error.message})`, error),
        );
      });
      req.once('response', (response) => {
        settled();
        if (response.statusCode === 200) {
          // The reader sees errors through its iteration; this keeps one that comes
          // before it starts from being an uncaught 'error' event.
          response.on('error', () => undefined);
          resolve(response);
          return;
        }
        response.resume();
        reject(
          unreachable(
            `answered ${response.statusCode ?? '?'}` +
              (response.statusCode === 401 ? ' (every node needs the same token)' : ''),
          ),
        );
      });
      req.end();
    });
  }

  /**
   * Copies an opened live log to `out` until it ends, `out` closes, or `stillHeld()` (asked
   * every WATCH_MS) says the attempt no longer runs on that node. Resolves with the bytes
   * written to `out`, exactly: the caller's offset for the stored log.
   */
  async copy(
    body: IncomingMessage,
    out: Writable,
    stillHeld: () => Promise<boolean>,
  ): Promise<number> {
    let copied = 0;
    let watching = false;
    const watch = setInterval(() => {
      if (watching) return;
      watching = true;
      stillHeld()
        .then((held) => {
          if (!held) body.destroy();
        })
        .catch(() => undefined)
        .finally(() => (watching = false));
    }, WATCH_MS);
    const stop = () => body.destroy();
    out.once('close', stop);
    try {
      for await (const chunk of body) {
        if (out.destroyed) break;
        const bytes = chunk as Buffer;
        copied += bytes.length;
        if (!out.write(bytes)) await drained(out);
      }
    } catch {
      // Destroyed by the watch, or the connection dropped: the caller asks the database
      // what happened and goes on from `copied`.
    } finally {
      clearInterval(watch);
      out.off('close', stop);
      body.destroy();
    }
    return copied;
  }
}
