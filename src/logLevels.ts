/**
 * The log levels, apart from src/log.ts so the CLI can offer them as choices without
 * loading pino: a client command never logs through it.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
