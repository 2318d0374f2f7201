import { hostname } from 'node:os';
import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';

/**
 * JSON lines on stderr through pino (the logger fastify itself uses, so request lines
 * and job lines share one stream and one format). Callers never pass secrets on
 * purpose; the redact paths below are the second wall, for a header or a spec that
 * reaches a line anyway.
 */
import type { LogLevel } from './logLevels.js';

export { LOG_LEVELS, type LogLevel } from './logLevels.js';

/** Keys whose values never reach a log line: the token, Authorization headers, env values. */
export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'headers.authorization',
  'token',
  '*.token',
  'env',
  '*.env',
];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** The pino instance underneath, for fastify (`loggerInstance`). */
  readonly pino: PinoLogger;
}

/** Errors become {type, message, stack} (pino's err serializer) wherever they appear in fields. */
function serializeFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value instanceof Error) {
      const runboxType = (value as { type?: unknown }).type;
      out[key] = {
        ...pino.stdSerializers.err(value),
        ...(typeof runboxType === 'string' ? { type: runboxType } : {}),
      };
    } else out[key] = value;
  }
  return out;
}

export function wrapPino(instance: PinoLogger): Logger {
  const at =
    (level: LogLevel) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      if (!instance.isLevelEnabled(level)) return;
      instance[level](serializeFields(fields), msg);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    pino: instance,
  };
}

/**
 * One line in pino's own format (level, time, pid, hostname, msg) written whatever the
 * log level: serve's and worker's lifecycle lines (listening, draining), which
 * supervisors and scripts wait for at every `--log-level`, yet which must parse as the
 * JSON lines README promises for stderr.
 */
export function lifecycleLine(msg: string, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({
    level: 'info',
    time: new Date().toISOString(),
    pid: process.pid,
    hostname: hostname(),
    ...fields,
    msg,
  });
}

/** A logger at `level` writing to stderr, or to `write` (tests). */
export function createLogger(level: LogLevel = 'info', write?: (line: string) => void): Logger {
  const destination: DestinationStream = write ? { write } : pino.destination({ fd: 2 });
  return wrapPino(
    pino(
      {
        level,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        serializers: { err: pino.stdSerializers.err },
        redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      },
      destination,
    ),
  );
}

export const silentLogger: Logger = wrapPino(pino({ level: 'silent' }));
