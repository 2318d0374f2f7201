import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobView.js';
import { databaseIdOf, labelledContainers } from '../helpers/leftovers.js';
import { useProcessSandbox } from '../helpers/processSandbox.js';
import {
  RUNBOX_BUNDLE,
  runCliProcess,
  startServerProcess,
  writeTestConfig,
} from '../helpers/serverProcess.js';
import { TEST_INSTANCE, TEST_RUNTIMES } from '../helpers/testConfig.js';

/**
 * The CLI as a user meets it: driven from outside through the built bundle, with pipes
 * for scripts and a pseudo-terminal (`script`) where only a terminal should see
 * something.
 */

const sandbox = useProcessSandbox('cli');
const ESC = String.fromCharCode(27);
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCliProcess(args, { env: { RUNBOX_CONFIG: '', RUNBOX_SERVER: '', ...env } });
const local = () => ['--config', writeTestConfig(sandbox.dataDir), '--data-dir', sandbox.dataDir];
const script = (name: string, content: string) => {
  const path = join(sandbox.dataDir, name);
  writeFileSync(path, content);
  return path;
};
async function server(workers = 1) {
  const rb = await startServerProcess({
    dataDir: sandbox.dataDir,
    configFile: writeTestConfig(sandbox.dataDir, { port: 0 }),
    workers,
  });
  sandbox.processes.push(rb);
  return rb;
}

/** Runs the bundle under a pseudo-terminal; resolves with everything the terminal showed. */
function inTerminal(args: string[], env: NodeJS.ProcessEnv) {
  // A terminal 100 columns wide, as a user's would be (script's bare pty reports 0).
  const command = `stty cols 100 rows 30; ${[process.execPath, RUNBOX_BUNDLE, ...args]
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
    .join(' ')}`;
  return new Promise<{ code: number | null; screen: string }>((resolve, reject) => {
    // Unset, not empty: colour libraries treat a CI or NO_COLOR that exists as set.
    const merged: NodeJS.ProcessEnv = { ...process.env, RUNBOX_CONFIG: '', TERM: 'xterm', ...env };
    for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
      env: merged,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    child.stdout.on('data', (c: Buffer) => (screen += c.toString()));
    child.stderr.on('data', (c: Buffer) => (screen += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`script ${command} timed out:\n${screen}`));
    }, 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen });
    });
  });
}

function runCommand(command: string, args: string[], cwd: string) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** A TCP or unix-socket relay to the local Docker socket, counting the connections it carried. */
async function dockerRelay(listenOn: number | string): Promise<{
  server: Server;
  connections: () => number;
  port: number;
}> {
  let count = 0;
  const relay = createServer((client) => {
    count++;
    const engine = connect('/var/run/docker.sock');
    client.pipe(engine).pipe(client);
    const close = () => {
      client.destroy();
      engine.destroy();
    };
    client.on('error', close);
    engine.on('error', close);
  });
  await new Promise<void>((r) =>
    typeof listenOn === 'number'
      ? relay.listen(listenOn, '127.0.0.1', r)
      : relay.listen(listenOn, r),
  );
  const address = relay.address();
  return {
    server: relay,
    connections: () => count,
    port: typeof address === 'object' && address ? address.port : 0,
  };
}

/** Runs a runbox command whose reader goes away after its first chunk, as `| head` does. */
async function readFirstChunkOnly(
  args: string[],
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [RUNBOX_BUNDLE, ...args], {
    env: { ...process.env, RUNBOX_CONFIG: '', RUNBOX_SERVER: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stderr };
}

describe('help and usage', () => {
  it('bare runbox shows help; every summary fits one 80-column line with words whole', async () => {
    const bare = await cli([]);
    expect(bare.code).toBe(0);
    expect(bare.stdout).toContain('Commands:');
    const commandLines = bare.stdout
      .slice(bare.stdout.indexOf('Commands:'), bare.stdout.indexOf('Global options:'))
      .split('\n')
      .slice(1)
      .filter((l) => l.trim() !== '');
    // No continuation lines: each command and its summary on one line.
    for (const line of commandLines) expect(line).toMatch(/^ {2}runbox \S/);
    expect(commandLines.length).toBeGreaterThanOrEqual(16);
    const names = commandLines.map((l) => l.trim().split(/\s+/)[1]!);
    for (const name of ['', ...names]) {
      const help = await cli(name ? [name, '--help'] : ['--help']);
      expect(help.code, name).toBe(0);
      for (const line of help.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
      // Every flag says what it does: `ls --status` was listed with its choices alone.
      const undescribed = help.stdout
        .split('\n')
        .filter((line) => /^\s+(-\w, )?--[a-z-]+(, --[a-z-]+)?\s*\[/.test(line));
      expect(undescribed, name).toEqual([]);
    }
    const submit = await cli(['submit', '--help']);
    // Wrapped at spaces: the long description keeps "from" whole.
    expect(submit.stdout).toMatch(/default\s*\n\s+from the file extension/);
    // Flags appear only where they apply, under their group.
    expect(submit.stdout).toContain('Server options:');
    expect(submit.stdout).not.toContain('--data-dir');
    const serve = await cli(['serve', '--help']);
    expect(serve.stdout).toContain('Local data options:');
    expect(serve.stdout).not.toContain('--server');
    expect(bare.stdout).toMatch(/79\s+a downloaded output's sha256 differs/);
  });

  // healthcheck and pull listed --data-dir, --db, --queue and --blobs, which neither reads:
  // healthcheck GETs /healthz of --server or the config's host:port, pull talks to Docker.
  it('healthcheck and pull --help list no data dir, database, queue or blob store flag; given one, it is unknown', async () => {
    const dataFlags = /--(data-dir|db|queue|blobs)\b|Local data options/;
    const health = await cli(['healthcheck', '--help']);
    expect(health.code).toBe(0);
    expect(health.stdout).toMatch(/--server\b/);
    expect(health.stdout).toMatch(/--timeout\b/);
    expect(health.stdout).not.toMatch(dataFlags);
    const pull = await cli(['pull', '--help']);
    expect(pull.code).toBe(0);
    expect(pull.stdout).toMatch(/--json\b/);
    expect(pull.stdout).not.toMatch(dataFlags);
    for (const command of ['healthcheck', 'pull']) {
      const got = await cli([command, '--data-dir', sandbox.dataDir, '--json']);
      expect(got.code, got.stderr).toBe(64);
      expect(JSON.parse(got.stdout).error).toMatchObject({
        type: 'UsageError',
        message: `Unknown argument: data-dir (see \`runbox ${command} --help\`)`,
      });
    }
  });

  it('an unknown command is named as one, with what to type instead where runbox has it', async () => {
    // yargs said "Unknown arguments: wait, 01J..." for `runbox wait ID`, as if a flag were wrong.
    const wait = await cli(['wait', '01M8QZ9BX124MRGHJYC19M349Z']);
    expect(wait.code).toBe(64);
    expect(wait.stderr).toContain('UsageError: unknown command: wait; runbox submit --wait');
    const show = await cli(['--config', '/dev/null', 'show', 'X', '--json']);
    expect(show.code).toBe(64);
    expect(JSON.parse(show.stdout)).toMatchObject({
      error: {
        type: 'UsageError',
        field: 'command',
        message: expect.stringMatching(/^unknown command: show; runbox status ID/),
      },
    });
    const other = await cli(['frobnicate']);
    expect(other.stderr).toContain('unknown command: frobnicate (see `runbox --help`)');
  });

  it('a usage error exits 64 with UsageError and a pointer to the command help, as JSON with --json', async () => {
    const unknown = await cli(['ls', '--bogus']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(
      /UsageError: Unknown argument: bogus \(see `runbox ls --help`\)/,
    );
    const missing = await cli(['status']);
    expect(missing.code).toBe(64);
    expect(missing.stderr).toContain('runbox status --help');
    const against = await cli(['contract', 'check']);
    expect(against.code).toBe(64);
    expect(against.stderr).toContain('--against');
    const asJson = await cli(['logs', '--json', '--nope']);
    expect(asJson.code).toBe(64);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ error: { type: 'UsageError' } });
    // --json before the command means the same; on a command that prints nothing it is unknown.
    const before = await cli([
      '--json',
      'contract',
      'check',
      '--against',
      'fixtures/contracts/current.json',
    ]);
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({ compatible: true });
    expect((await cli(['--json', 'serve', '--port', '0'])).code).toBe(64);
    const delay = await cli(['submit', script('d.sh', 'true\n'), '--delay', 'soon']);
    expect(delay.code).toBe(64);
    expect(delay.stderr).toContain('--delay "soon"');
  });

  it('help, --version and contract export onto a stdout that fails (> /dev/full) exit 74, saying so once', () => {
    // --help exited 0 having printed nothing (console.log drops the error); the others
    // died of the stream's ENOSPC with a stack trace, exit 1.
    for (const args of [['--help'], ['run', '--help'], ['--version'], ['contract', 'export']]) {
      const full = openSync('/dev/full', 'w');
      const got = spawnSync(process.execPath, [RUNBOX_BUNDLE, ...args], {
        env: { ...process.env, RUNBOX_CONFIG: '' },
        stdio: ['ignore', full, 'pipe'],
        encoding: 'utf8',
      });
      closeSync(full);
      expect(got.stderr, args.join(' ')).toBe(
        'runbox: cannot write to stdout (ENOSPC); the rest is not printed\n',
      );
      expect(got.status, args.join(' ')).toBe(74);
    }
  });

  it('an unknown flag near a known one names it: "did you mean --timeout?"', async () => {
    // It said "Unknown argument: timout" alone, and --help is 40 lines long.
    const run = await cli(['run', 'job.sh', '--timout', '3', '--output-dri', 'x']);
    expect(run.stderr).toBe(
      'runbox: UsageError: Unknown arguments: timout (did you mean --timeout?), output-dri (did you mean --output-dir?) (see `runbox run --help`)\n',
    );
    expect(run.code).toBe(64);
    const ls = await cli(['ls', '--limt', '3', '--bogus', '--json']);
    expect(JSON.parse(ls.stdout)).toEqual({
      error: {
        type: 'UsageError',
        message: 'Unknown arguments: limt (did you mean --limit?), bogus (see `runbox ls --help`)',
        field: 'argv',
      },
    });
    expect(ls.code).toBe(64);
  });

  // `submit --timeout -5` went to the server to be refused; with no server it exited 69
  // (ServerUnavailable), as if the flag were fine.
  it('submit and schedule add refuse a job flag out of the job spec range before any request, in the words of the server, as run does', async () => {
    const job = script('range.sh', 'true\n');
    const rb = await server();
    const cases: Array<[string[], Record<string, unknown>]> = [
      [['--timeout', '-5'], { timeout_seconds: -5 }],
      [['--memory=-5m'], { limits: { memory: '-5m' } }],
      [['--cpus', '0.001'], { limits: { cpus: 0.001 } }],
      [['--pids', '0'], { limits: { pids: 0 } }],
      [['--priority', '5000'], { priority: 5000 }],
      [['--max-attempts', '0'], { max_attempts: 0 }],
      [['--run-at', 'tomorrow'], { run_at: 'tomorrow' }],
    ];
    for (const [flags, field] of cases) {
      const body = { runtime: 'shell', script: { path: 'range.sh', content: 'true\n' }, ...field };
      const answer = await fetch(`${rb.url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(answer.status, flags.join(' ')).toBe(400);
      const { error } = (await answer.json()) as { error: { type: string; message: string } };
      const said = `runbox: ${error.type}: ${error.message}\n`;
      const noServer = ['--server', 'http://127.0.0.1:9'];
      for (const args of [
        ['submit', job, ...flags, ...noServer],
        ['schedule', 'add', 'n', '--cron', '* * * * *', job, ...flags, ...noServer],
        ['run', job, ...flags, ...local()],
      ]) {
        if (args[0] === 'schedule' && flags[0] === '--run-at') continue; // not a schedule's
        const got = await cli(args);
        expect(got.stderr, args.join(' ')).toBe(said);
        expect(got.code, args.join(' ')).toBe(65);
      }
    }
  });

  // `runbox submit empty.sh` was accepted and "succeeded" having run nothing.
  it('an empty script with no command is refused naming script.content, by POST /v1/jobs, the batch, a schedule, submit, schedule add and run alike', async () => {
    const rb = await server();
    const empty = script('empty.sh', '');
    const said =
      'is empty, so runtime "shell" would run nothing; give the script\'s content, or command (--command) to run instead';
    const body = { runtime: 'shell', script: { path: 'empty.sh', content: '' } };
    const ok = { runtime: 'shell', script: { path: 'ok.sh', content: 'true\n' } };
    for (const [route, sent, field] of [
      ['/v1/jobs', body, 'script.content'],
      ['/v1/jobs/batch', { jobs: [ok, body] }, 'jobs.1.script.content'],
      ['/v1/schedules', { name: 'e', cron: '* * * * *', job: body }, 'job.script.content'],
    ] as const) {
      const answer = await fetch(`${rb.url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(sent),
      });
      expect(answer.status, route).toBe(400);
      const { error } = (await answer.json()) as { error: Record<string, unknown> };
      expect(error, route).toMatchObject({
        type: 'InvalidSpec',
        field,
        message: `${field}: ${said}`,
      });
    }
    for (const [args, field] of [
      [['submit', empty, '--server', rb.url], 'script.content'],
      [
        ['schedule', 'add', 'e', '--cron', '* * * * *', empty, '--server', rb.url],
        'job.script.content',
      ],
      [['run', empty, ...local()], 'script.content'],
    ] as const) {
      const got = await cli([...args]);
      expect([got.code, got.stderr], args.join(' ')).toEqual([
        65,
        `runbox: InvalidSpec: ${field}: ${said}\n`,
      ]);
    }
    // Nothing was stored: no job (the batch is all or nothing), no schedule.
    expect((await cli(['ls', '-q', '--server', rb.url])).stdout).toBe('');
    expect((await cli(['schedule', 'ls', '--json', '--server', rb.url])).stdout).toMatch(
      /"schedules": \[\]/,
    );
  });

  // yargs says a required flag is missing before another is unknown: `schedule add n
  // --crn ...` said "Missing required argument: cron" and nothing of --crn.
  it('a mistyped required flag is named as the one meant: "did you mean --cron?"', async () => {
    const got = await cli(['schedule', 'add', 'n', '--crn', '* * * * *', script('c.sh', 'true\n')]);
    expect(got.stderr).toBe(
      'runbox: UsageError: Missing required argument: cron; --crn is not a flag: did you mean --cron? (see `runbox schedule add --help`)\n',
    );
    expect(got.code).toBe(64);
  });

  // yargs said "Not enough non-option arguments: got 0, need at least 1" and, for a word
  // too many, "Unknown argument: b" (unit `cli.clientArgs` has the client commands).
  it('a missing or extra argument is named with the usage line of the (sub)command', async () => {
    const said = {
      // Nothing to run at all: a missing argument too (64), before any request or data dir.
      run: 'give a script, or --runtime or --image with --command',
      'submit --runtime shell': 'give a script, or --runtime or --image with --command',
      'schedule add':
        'missing <name>: runbox schedule add <name> [script] (see `runbox schedule add --help`)',
      outputs: 'missing <id>: runbox outputs <id> (see `runbox outputs --help`)',
      'schedule rm a b':
        '"b" is one argument too many: runbox schedule rm <name> (see `runbox schedule rm --help`)',
      'run a.sh b.sh':
        '"b.sh" is one argument too many: runbox run [script]; the job\'s own arguments go after -- (see `runbox run --help`)',
    };
    for (const [args, message] of Object.entries(said)) {
      const got = await cli(args.split(' '));
      expect(got.stderr, args).toBe(`runbox: UsageError: ${message}\n`);
      expect(got.code, args).toBe(64);
    }
  });

  it('a server URL with user:password@ is a usage error for every client command, never quoting the password', async () => {
    // status and ls sent it as Basic; logs said "cannot reach" (69) since fetch refuses
    // such a URL; each error message quoted the password.
    const rb = await server();
    const withPassword = rb.url.replace('http://', 'http://ann:s3cret-pw@');
    for (const args of [['ls'], ['status', 'X'], ['logs', 'X'], ['submit', 'x.sh', '--follow']]) {
      const got = await cli(args, { RUNBOX_SERVER: withPassword });
      expect(got.stderr, args[0]).toBe(
        `runbox: UsageError: server URL ${rb.url}/ was given with user:password@, which runbox does not send; remove it, and give the server's token as RUNBOX_TOKEN or "token" in the config file (--server or RUNBOX_SERVER)\n`,
      );
      expect(got.code, args[0]).toBe(64);
    }
  });

  // `ls --limit 0` (or 5000) came back from the server as InvalidSpec "querystring.limit"
  // (65), while the local database took it: out of range is a usage error, before any request.
  it('ls --limit outside 1..1000 is a usage error naming --limit, with or without a server', async () => {
    for (const limit of ['0', '1001', '2.5', '-3']) {
      for (const where of [
        ['--server', 'http://127.0.0.1:9'],
        ['--data-dir', sandbox.dataDir],
      ]) {
        const got = await cli(['ls', `--limit=${limit}`, '--json', ...where]);
        expect(got.code, `${limit} ${where.join(' ')}: ${got.stderr}`).toBe(64);
        expect(JSON.parse(got.stdout).error).toMatchObject({ type: 'UsageError', field: 'limit' });
      }
    }
  });

  // `workers --data-dir D` was refused (64, "Unknown argument: data-dir") while `ls` and
  // `status` read the local database: a `runbox worker` with no server in front of it
  // registers there.
  it('workers reads the local database without a server, as ls does', async () => {
    const configFile = writeTestConfig(sandbox.dataDir);
    const worker = await startServerProcess({
      dataDir: sandbox.dataDir,
      configFile,
      command: 'worker',
      workers: 1,
    });
    sandbox.processes.push(worker);
    const got = await cli(['workers', '--json', ...local()]);
    expect(got.code, got.stderr).toBe(0);
    const { workers } = JSON.parse(got.stdout) as {
      workers: Array<{ pid: number; state: string; queues: Record<string, number> }>;
    };
    expect(workers.find((w) => w.pid === worker.child.pid)).toMatchObject({
      state: 'alive',
      queues: { default: 1 },
    });
    const shown = await cli(['workers', ...local()]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(
      new RegExp(`^\\S+ +alive +\\S+ +${worker.child.pid} +default:1 `, 'm'),
    );
    worker.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });

  // `schedule add n job.sh` said "Missing required argument: cron (see `runbox schedule
  // --help`)", a page that lists the subcommands and not --cron.
  it('a usage error in a schedule subcommand points at that subcommand help', async () => {
    for (const [args, sub] of [
      [['schedule', 'add', 'n', script('s.sh', 'true\n')], 'add'],
      [['schedule', 'ls', '--bogus'], 'ls'],
      [['schedule', 'rm'], 'rm'],
    ] as const) {
      const got = await cli([...args]);
      expect(got.code, got.stderr).toBe(64);
      expect(got.stderr, args.join(' ')).toContain(`(see \`runbox schedule ${sub} --help\`)`);
    }
    const bare = await cli(['schedule', 'nope']);
    expect(bare.code).toBe(64);
    expect(bare.stderr).toContain('(see `runbox schedule --help`)');
  });

  // `healthcheck --timeout 0` was InvalidSpec (65, "invalid job spec") where every other
  // flag out of range is the command line's (64), `--timeout abc` included.
  it('healthcheck --timeout not above 0 is a usage error naming --timeout', async () => {
    for (const timeout of ['0', '-1', 'abc']) {
      const got = await cli(['healthcheck', `--timeout=${timeout}`, '--json']);
      expect(got.code, `${timeout}: ${got.stderr}`).toBe(64);
      expect(JSON.parse(got.stdout).error).toMatchObject({ type: 'UsageError', field: 'timeout' });
      expect(JSON.parse(got.stdout).error.message).toContain('runbox healthcheck --help');
    }
  });

  // Node reads `--env-file` as its own option even after the script's name: through
  // ./bin/runbox, `run job.sh --env-file missing.env` ended in "node: missing.env: not
  // found", exit 9, and a folder in "invalid format", before runbox ran at all.
  it('the launcher leaves --env-file to runbox: a missing file is InvalidSpec naming it', () => {
    const launcher = join(import.meta.dirname, '..', '..', 'bin', 'runbox');
    const job = script('env.sh', 'echo "$A"\n');
    for (const file of [join(sandbox.dataDir, 'missing é.env'), sandbox.dataDir]) {
      const got = spawnSync(launcher, ['run', job, '--env-file', file, ...local()], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
      });
      expect(got.status, got.stderr).toBe(65);
      expect(got.stderr).toMatch(/^runbox: InvalidSpec: env-file: cannot read /);
      expect(got.stderr).toContain(file);
    }
  });

  it('run - reads the script from stdin; a - after -- is an argument', async () => {
    // yargs read the lone - as an empty word: "give a script, or --runtime or --image".
    const got = await runCliProcess(['run', '-', '--runtime', 'shell', ...local(), '--', '-'], {
      env: { RUNBOX_CONFIG: '', RUNBOX_SERVER: '' },
      input: 'echo "from stdin $1"\n',
    });
    expect(got.stderr).toBe('');
    expect(got.stdout).toBe('from stdin -\n');
    expect(got.code).toBe(0);
  });

  it('run -o naming a file is refused before the job runs, naming -o and the fix', async () => {
    // It ran the job, then failed Internal (70): "EEXIST: file already exists, mkdir".
    const notes = script('notes.txt', 'mine\n');
    const job = script('writes.sh', 'echo ran\necho x > /outputs/x\n');
    for (const dir of [notes, join(notes, 'sub')]) {
      const run = await cli(['run', job, '-o', dir, '--json', ...local()]);
      expect(run.code).toBe(64);
      expect(JSON.parse(run.stdout)).toMatchObject({
        error: {
          type: 'UsageError',
          field: 'output-dir',
          message: `-o ${dir}: ${notes} exists and is not a folder; name a folder you can write in (made if missing)`,
        },
      });
      expect(run.stderr).not.toContain('ran');
    }
    expect(readFileSync(notes, 'utf8')).toBe('mine\n');
    // access() says yes to root anywhere: -o /proc/x ran the job, then Node's recursive
    // mkdir spun for ever (the kernel answers ENOENT), and /sys/x failed Internal (70).
    for (const [dir, made, code] of [
      ['/proc/runbox-test-x', '/proc/runbox-test-x', 'ENOENT'],
      ['/sys/runbox-test-x/y', '/sys/runbox-test-x', 'EPERM'],
    ] as const) {
      const run = await cli(['run', job, '-o', dir, '--json', ...local()]);
      expect(run.code, run.stderr).toBe(64);
      expect(run.stderr).not.toContain('ran');
      const message = (JSON.parse(run.stdout) as { error: { message: string } }).error.message;
      expect([
        `-o ${dir}: cannot make ${made} (${code}); name a folder you can write in (made if missing)`,
        // Not root: refused by access() before the probe.
        `-o ${dir}: ${dirname(made)} is not writable by this user; name a folder you can write in (made if missing)`,
      ]).toContain(message);
    }
  });

  it('run whose reader goes away (| head) stops the job as Ctrl-C does: exit 130, no crash, no container', async () => {
    // Unhandled, the EPIPE crashed runbox ("Unhandled 'error' event") and left the container running.
    const job = script('chatty.sh', 'while :; do echo 0123456789abcdef; done\n');
    const { code, stderr } = await readFirstChunkOnly(['run', job, ...local()]);
    expect(stderr).not.toContain('EPIPE');
    expect(stderr).toMatch(/cancelled: Cancelled/);
    expect(code).toBe(130);
    expect(await labelledContainers({ database: databaseIdOf(sandbox.dataDir) })).toEqual([]);
  });

  /** `runbox run ARGS` with stdout on /dev/full, where every write fails with ENOSPC. */
  async function runOntoFullStdout(
    args: string[],
  ): Promise<{ code: number | null; stderr: string }> {
    const full = openSync('/dev/full', 'w');
    const child = spawn(process.execPath, [RUNBOX_BUNDLE, 'run', ...args, ...local()], {
      env: { ...process.env, RUNBOX_CONFIG: '', RUNBOX_SERVER: '' },
      stdio: ['ignore', full, 'pipe'],
    });
    closeSync(full);
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, stderr };
  }

  it('run whose stdout fails (> /dev/full) stops the job as Ctrl-C does: exit 130, one line, no container', async () => {
    // The ENOSPC was rethrown from the stream's 'error' event: a stack trace, exit 1, and
    // the job left running in its container until its lease ran out.
    const job = script('chatty.sh', 'while :; do echo 0123456789abcdef; sleep 0.1; done\n');
    const { code, stderr } = await runOntoFullStdout([job]);
    expect(stderr).toMatch(/^runbox: cannot write to stdout \(ENOSPC\); the rest is not printed\n/);
    expect(stderr).toMatch(/cancelled: Cancelled/);
    expect(stderr).not.toMatch(/ at /);
    expect(code).toBe(130);
    expect(await labelledContainers({ database: databaseIdOf(sandbox.dataDir) })).toEqual([]);
  });

  it('run --json whose stdout fails once the job has ended exits 74, one line, no stack trace', async () => {
    // The failed write of the JSON document cancelled the ended job: an unhandled
    // Conflict, a stack trace and exit 1 (a stranger's pass).
    const job = script('hi.sh', 'echo hi\n');
    const { code, stderr } = await runOntoFullStdout([job, '--json']);
    expect(stderr).toBe('hi\nrunbox: cannot write to stdout (ENOSPC); the rest is not printed\n');
    expect(code).toBe(74);
    expect(await labelledContainers({ database: databaseIdOf(sandbox.dataDir) })).toEqual([]);
  });

  it('logs whose reader goes away (| head) ends quietly, from the local database and from a server', async () => {
    // The EPIPE was an unhandled 'error' event: a stack trace and exit 1.
    const job = script('four-mib.sh', 'head -c 4194304 /dev/zero | tr "\\0" x\n');
    const run = await cli(['run', job, '--json', ...local()]);
    expect(run.code, run.stderr).toBe(0);
    const { id } = JSON.parse(run.stdout) as JobView;
    const rb = await server();
    for (const where of [
      ['--data-dir', sandbox.dataDir],
      ['--server', rb.url],
    ]) {
      const { code, stderr } = await readFirstChunkOnly(['logs', id, ...where]);
      expect(stderr).toBe('');
      expect(code).toBe(0);
    }
  });

  it('completion prints a bash and a zsh script that ask runbox for the words', async () => {
    const bash = await cli(['completion', 'bash']);
    expect(bash.code).toBe(0);
    // Sourced into bash, the completion function completes `runbox lo` to `logs`.
    const completed = spawn(
      'bash',
      [
        '-c',
        `runbox() { '${process.execPath}' '${RUNBOX_BUNDLE}' "$@"; }
source '${script('completion.bash', bash.stdout)}'
COMP_WORDS=(runbox lo); COMP_CWORD=1; _runbox_completions; echo "\${COMPREPLY[*]}"`,
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let words = '';
    completed.stdout.on('data', (c: Buffer) => (words += c.toString()));
    expect(await new Promise((r) => completed.on('close', r))).toBe(0);
    expect(words.trim()).toBe('logs');
    expect((await cli(['completion', 'zsh'])).stdout).toContain('compdef _runbox runbox');
    const options = await cli(['--get-yargs-completions', 'runbox', 'ls', '--']);
    expect(options.stdout.split('\n')).toEqual(
      expect.arrayContaining(['--quiet', '--all', '--cursor']),
    );
    // One-letter aliases are offered as -q and -o, never as --q or --o (yargs' own).
    expect(options.stdout.split('\n')).not.toContain('--q');
    const run = (await cli(['--get-yargs-completions', 'run', '--'])).stdout.split('\n');
    expect(run).toEqual(expect.arrayContaining(['--output-dir', '--version']));
    expect(run.filter((word) => /^--[^-]$/.test(word))).toEqual([]);
    const short = (await cli(['--get-yargs-completions', 'ls', '-'])).stdout.split('\n');
    expect(short).toEqual(expect.arrayContaining(['-q', '--quiet']));
  });
});

describe('--json, logs and status on the local database', () => {
  it('repeatable flags take one word each, so the script may come after them', async () => {
    const job = script('env args.sh', 'echo "$A|$B|$1|$2"\nexit 3\n');
    const ran = await cli([
      'run',
      '--env',
      'A=1',
      '--env',
      'B=two words',
      '--arg',
      'x',
      '--retry-on-exit',
      '3',
      '--max-attempts',
      '1',
      job,
      '--arg',
      'y z',
      ...local(),
    ]);
    expect(ran.stdout).toBe('1|two words|x|y z\n');
    expect(ran.code, ran.stderr).toBe(3);
  });

  // `runbox run job.sh --command sh -c 'echo hi'` (and submit) said "Unknown argument: c".
  it('--command takes the words after it up to the next --flag, and the container gets them byte for byte', async () => {
    const job = script('unused.sh', 'echo not this\n');
    const command = ['sh', '-c', 'printf "%s|" "$0" "$@"', 'a b', 'ü日本 é', '-x', '"q"', ''];
    const expected = 'a b|ü日本 é|-x|"q"||-v|c  d|';
    const ran = await cli([
      'run',
      job,
      '--command',
      ...command,
      '--timeout',
      '30',
      ...local(),
      '--',
      '-v',
      'c  d',
    ]);
    expect(ran.stderr).toBe('');
    expect(Buffer.from(ran.stdout)).toEqual(Buffer.from(expected));
    expect(ran.code).toBe(0);
    const rb = await server();
    const submitted = await cli(
      ['submit', job, '--command', ...command, '--follow', '--', '-v', 'c  d'],
      { RUNBOX_SERVER: rb.url },
    );
    expect(Buffer.from(submitted.stdout)).toEqual(Buffer.from(expected));
    expect(submitted.code, submitted.stderr).toBe(0);
  });

  it("run --json prints one JSON document on stdout and the job's output on stderr; logs and status read it back without a server", async () => {
    const job = script('both streams.sh', 'printf "out \\303\\251\\n"\nprintf "err line\\n" >&2\n');
    const run = await cli(['run', job, '--json', ...local()]);
    expect(run.code, run.stderr).toBe(0);
    const final = JSON.parse(run.stdout) as JobView;
    expect(final.status).toBe('succeeded');
    expect(run.stderr).toContain('out é\n');
    expect(run.stderr).toContain('err line\n');

    // No server runs on the default address: both read the database `run` wrote.
    const data = ['--data-dir', sandbox.dataDir];
    const status = await cli(['status', final.id, '--json', ...data]);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ id: final.id, status: 'succeeded' });
    const err = await cli(['logs', final.id, '--stderr', ...data]);
    expect(err.stdout).toBe('err line\n');
    expect(err.stderr).toBe('');
    const out = await cli(['logs', final.id, ...data]);
    expect(out.stdout).toBe('out é\n');

    const nope = await cli(['status', 'NOPE', '--json', ...data]);
    expect(nope.code).toBe(66);
    expect(JSON.parse(nope.stdout)).toMatchObject({ error: { type: 'NotFound', field: 'id' } });

    // ls lists them too, paged as the server pages: a second run, then one per page.
    const second = await cli(['run', job, '--json', ...local()]);
    const secondId = (JSON.parse(second.stdout) as JobView).id;
    const listed = await cli(['ls', '--json', ...data]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({
      jobs: [
        { id: secondId, status: 'succeeded' },
        { id: final.id, status: 'succeeded' },
      ],
      next_cursor: null,
    });
    const first = await cli(['ls', '-q', '--limit', '1', ...data]);
    expect(first.stdout).toBe(`${secondId}\n`);
    expect(first.stderr).toContain(`more: runbox ls --cursor ${secondId}`);
    const all = await cli(['ls', '-q', '--limit', '1', '--all', ...data]);
    expect(all.stdout).toBe(`${secondId}\n${final.id}\n`);
    const none = await cli(['ls', '-q', '--status', 'failed', ...data]);
    expect([none.code, none.stdout]).toEqual([0, '']);
  });

  // `status 'a b'` said NotFound "no job a b in .../runbox.db" (66) from the local
  // database, where a server answers 400 InvalidSpec "is not a job id": one check now.
  it('a malformed job id is InvalidSpec naming id (65) from the local database, as every per-job command gets it from a server', async () => {
    expect((await cli(['gc', ...local()])).code).toBe(0); // creates the database
    const data = ['--data-dir', sandbox.dataDir];
    for (const id of ['a b', '../x', '']) {
      const status = await cli(['status', id, '--json', ...data]);
      expect(status.code, status.stderr).toBe(65);
      expect(JSON.parse(status.stdout).error).toMatchObject({
        type: 'InvalidSpec',
        field: 'id',
        message: `id: "${id}" is not a job id`,
      });
      const logs = await cli(['logs', id, ...data]);
      expect([logs.code, logs.stderr]).toEqual([
        65,
        `runbox: InvalidSpec: id: "${id}" is not a job id\n`,
      ]);
    }
    const rb = await server(1);
    for (const command of ['status', 'logs', 'outputs', 'cancel', 'webhooks']) {
      const got = await cli([command, 'a b', '--server', rb.url]);
      expect([command, got.code, got.stderr]).toEqual([
        command,
        65,
        'runbox: InvalidSpec: id: "a b" is not a job id\n',
      ]);
      // Well formed but unknown stays NotFound, from the server as from the database.
      expect((await cli([command, 'NOPE', '--server', rb.url])).code, command).toBe(66);
    }
  });

  it('submit --follow --json, ls -q / --all / --cursor, --delay, runtimes and doctor against a server', async () => {
    const rb = await server(1);
    const srv = ['--server', rb.url];
    const job = script('follow.sh', 'echo followed\necho warned >&2\nexit 3\n');
    const followed = await cli(['submit', job, '--follow', '--json', ...srv]);
    expect(followed.code).toBe(3);
    expect(JSON.parse(followed.stdout)).toMatchObject({ status: 'failed' });
    expect(followed.stderr).toContain('followed\n');
    expect(followed.stderr).toContain('warned\n');

    const later = script('later.sh', 'echo later\n');
    const before = Date.now();
    const delayed = await cli(['submit', later, '--delay', '1h30m', '--json', ...srv]);
    expect(delayed.code, delayed.stderr).toBe(0);
    const runAt = Date.parse((JSON.parse(delayed.stdout) as JobView).run_at);
    expect(runAt - before).toBeGreaterThanOrEqual(5_400_000 - 1000);
    expect(runAt - before).toBeLessThan(5_400_000 + 60_000);
    for (let i = 0; i < 2; i++) {
      expect((await cli(['submit', later, '--delay', '1h', ...srv])).code).toBe(0);
    }
    const page = await cli(['ls', '-q', '--limit', '2', ...srv]);
    expect(page.stdout.trim().split('\n')).toHaveLength(2);
    const cursor = /--cursor (\S+)/.exec(page.stderr)![1]!;
    const rest = await cli(['ls', '-q', '--limit', '2', '--cursor', cursor, ...srv]);
    const all = await cli(['ls', '-q', '--all', '--limit', '2', ...srv]);
    expect(all.stdout.trim().split('\n')).toEqual([
      ...page.stdout.trim().split('\n'),
      ...rest.stdout.trim().split('\n'),
    ]);
    expect(all.stdout.trim().split('\n')).toHaveLength(4);
    for (const id of all.stdout.trim().split('\n')) await cli(['cancel', id, ...srv]);

    const fromServer = await cli(['runtimes', '--json', ...srv]);
    expect(fromServer.code, fromServer.stderr).toBe(0);
    const listed = (JSON.parse(fromServer.stdout) as { runtimes: Array<Record<string, unknown>> })
      .runtimes;
    expect(listed).toEqual(
      Object.entries(TEST_RUNTIMES).map(([name, r]) => ({ name, ...r, present: true })),
    );

    const doctor = await cli(['doctor', '--json', ...srv]);
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(JSON.parse(doctor.stdout)).toMatchObject({
      checks: [
        { name: 'server', state: 'ok' },
        { name: 'server contract', state: 'ok' },
      ],
    });
    const gone = await cli(['doctor', '--server', 'http://127.0.0.1:1']);
    expect(gone.code).toBe(1);
    expect(gone.stdout).toMatch(/server\s+FAIL/);
  });

  it('runtimes lists the local config, with a missing image shown as absent', async () => {
    const configFile = writeTestConfig(sandbox.dataDir, {
      runtimes: {
        ...TEST_RUNTIMES,
        ghost: { image: 'runbox-test/no-such-image:1', command: ['x'] },
      },
    });
    const listed = await cli(['runtimes', '--config', configFile]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/ghost\s+runbox-test\/no-such-image:1\s+no\s+x/);
    expect(listed.stdout).toMatch(/shell\s+runbox-test\/shell:latest\s+yes\s+sh \{script\}/);
  });
});

describe('progress', () => {
  it('submit --wait shows a spinner on a terminal only: not in a pipe, not under CI, no colour under NO_COLOR', async () => {
    const rb = await server(1);
    const job = script('slow.sh', 'sleep 2\necho done\n');
    const args = ['submit', job, '--wait', '--server', rb.url];
    const tty = await inTerminal(args, { CI: undefined, NO_COLOR: undefined });
    expect(tty.code, tty.screen).toBe(0);
    expect(tty.screen).toMatch(/job \S+ (queued|running) \(\d+ s\)/);
    expect(tty.screen).toContain(`${ESC}[36m`); // the spinner's colour
    const plain = await inTerminal(args, { CI: undefined, NO_COLOR: '1' });
    expect(plain.screen).toMatch(/job \S+ (queued|running)/);
    expect(plain.screen).not.toMatch(new RegExp(`${ESC}\\[3\\dm`));
    const ci = await inTerminal(args, { CI: 'true', NO_COLOR: undefined });
    expect(ci.code).toBe(0);
    expect(ci.screen).not.toMatch(/job \S+ (queued|running)/);
    const piped = await cli(args, { CI: '' });
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');

    // outputs -o: the download shows its bytes on a terminal.
    const writer = script('write.sh', 'head -c 12582912 /dev/zero > "$RUNBOX_OUTPUTS/big.bin"\n');
    const made = await cli(['submit', writer, '--wait', '--json', '--server', rb.url]);
    const id = (JSON.parse(made.stdout) as JobView).id;
    const into = join(sandbox.dataDir, 'downloaded');
    const download = await inTerminal(['outputs', id, '-o', into, '--server', rb.url], {
      CI: undefined,
    });
    expect(download.code, download.screen).toBe(0);
    expect(download.screen).toMatch(/big\.bin: [\d.]+ of 12\.0 MiB \(\d+%\)/);
    expect(download.screen).toMatch(/big\.bin\s+12582912 bytes\s+sha256 ok/);
  });
});

describe('progress of an image pull', () => {
  it('runbox run shows the pull on a terminal, from a real registry (Debian docker-registry)', async () => {
    // A private registry on a free port, holding an image with a layer no engine has.
    const dir = sandbox.dataDir;
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    writeFileSync(
      join(dir, 'registry.yml'),
      `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/registry\nhttp:\n  addr: 127.0.0.1:${port}\n`,
    );
    const registry = spawn('docker-registry', ['serve', join(dir, 'registry.yml')], {
      stdio: 'ignore',
    });
    const image = `127.0.0.1:${port}/runbox-cli-test/pulled:${TEST_INSTANCE}`;
    const docker = (...args: string[]) => runCommand('docker', args, join(dir, 'build'));
    try {
      mkdirSync(join(dir, 'build'));
      writeFileSync(join(dir, 'build', 'noise.bin'), randomBytes(4 * 1024 * 1024));
      writeFileSync(
        join(dir, 'build', 'Dockerfile'),
        'FROM runbox-test/shell:latest\nCOPY noise.bin /noise.bin\n',
      );
      await docker('build', '-q', '-t', image, '.');
      for (let i = 0; ; i++) {
        if ((await docker('push', image)).code === 0) break;
        if (i > 40) throw new Error('registry did not accept the push');
        await new Promise((r) => setTimeout(r, 250));
      }
      expect((await docker('rmi', image)).code).toBe(0);
      const job = script('pulled.sh', 'echo ran on the pulled image\n');
      const screen = await inTerminal(
        ['run', job, '--image', image, ...local(), '--pull', 'if-not-present'],
        { CI: undefined, NO_COLOR: undefined },
      );
      expect(screen.code, screen.screen).toBe(0);
      expect(screen.screen).toMatch(
        new RegExp(`pulling ${image.replaceAll('.', '\\.')}: [\\d.]+ of [\\d.]+ MiB`),
      );
      expect(screen.screen).toContain('ran on the pulled image');
    } finally {
      await docker('rmi', image);
      registry.kill('SIGKILL');
    }
  });
});

describe('config', () => {
  it('refuses a config file with an unknown key or a wrong type before starting, naming the key', async () => {
    const file = join(sandbox.dataDir, 'bad.json');
    writeFileSync(file, JSON.stringify({ wrokers: 4, limits: { logBytes: 'big' } }));
    const serve = await cli(['serve', '--config', file, '--data-dir', sandbox.dataDir]);
    expect(serve.code).toBe(78);
    expect(serve.stderr).toMatch(
      /InvalidConfig: config file .*bad\.json: unknown key "wrokers" \(did you mean "workers"\?\)/,
    );
    writeFileSync(file, JSON.stringify({ limits: { logBytes: 'big' } }));
    const typed = await cli(['run', script('x.sh', 'true\n'), '--config', file]);
    expect(typed.code).toBe(78);
    expect(typed.stderr).toContain('limits.logBytes: expected integer, got "big"');
  });

  // `serve --port 70000` exited 78 (InvalidConfig "set by flag"), the code for a bad
  // config file, which systemd units are told not to restart; the flag is the mistake.
  it('serve --port or --workers out of range is a usage error naming the flag; from a file or the environment it stays 78', async () => {
    for (const [flag, value, message] of [
      ['--port', '70000', '--port 70000 is not a TCP port (0-65535)'],
      ['--workers', '300', '--workers 300 must be an integer from 0 to 256'],
    ] as const) {
      const got = await cli(['serve', flag, value, '--data-dir', sandbox.dataDir]);
      expect(got.stderr).toBe(`runbox: UsageError: ${message}\n`);
      expect(got.code).toBe(64);
    }
    const file = join(sandbox.dataDir, 'port.json');
    writeFileSync(file, JSON.stringify({ port: 70000 }));
    const fromFile = await cli(['serve', '--config', file, '--data-dir', sandbox.dataDir]);
    expect(fromFile.stderr).toContain(
      `InvalidConfig: config file ${file}: port: expected integer to be less or equal to 65535, got 70000`,
    );
    expect(fromFile.code).toBe(78);
    const fromEnv = await cli(['serve', '--data-dir', sandbox.dataDir], { RUNBOX_WORKERS: '300' });
    expect(fromEnv.stderr).toContain(
      'InvalidConfig: workers: 300 must be an integer from 0 to 256 (set by env RUNBOX_WORKERS)',
    );
    expect(fromEnv.code).toBe(78);
  });

  // `config show` refused the very configs a user runs it to understand: webhooks.url
  // without a secret exited 78 before printing anything.
  it('config show prints a config runbox would refuse, then refuses it (78) naming the value at fault', async () => {
    const file = join(sandbox.dataDir, 'no secret.json');
    writeFileSync(file, JSON.stringify({ webhooks: { url: 'https://hooks.example.com/é' } }));
    const json = await cli([
      'config',
      'show',
      '--json',
      '--config',
      file,
      '--data-dir',
      sandbox.dataDir,
    ]);
    expect(json.code).toBe(78);
    expect(JSON.parse(json.stdout)).toMatchObject({
      config: { webhooks: { url: 'https://hooks.example.com/é', secret: null } },
      sources: { 'webhooks.url': file },
      files: [file],
      error: {
        type: 'InvalidConfig',
        field: 'webhooks.secret',
        message: 'webhooks.secret: must be set (RUNBOX_WEBHOOK_SECRET) when webhooks.url is',
      },
    });
    expect(json.stderr).toBe('');
    const text = await cli(['config', 'show', '--config', file, '--data-dir', sandbox.dataDir]);
    expect(text.code).toBe(78);
    expect(text.stdout).toMatch(
      /^webhooks\.url +"https:\/\/hooks\.example\.com\/é" +\/.*no secret\.json$/m,
    );
    expect(text.stderr).toBe(
      'runbox: InvalidConfig: webhooks.secret: must be set (RUNBOX_WEBHOOK_SECRET) when webhooks.url is\n',
    );
    const table = await cli(['config', 'show', '--config', file, '--data-dir', sandbox.dataDir], {
      RUNBOX_WORKERS: '300',
    });
    expect(table.code).toBe(78);
    expect(table.stdout).toMatch(/^workers +300 +env RUNBOX_WORKERS$/m);
    expect(table.stderr).toContain(
      'workers: 300 must be an integer from 0 to 256 (set by env RUNBOX_WORKERS)',
    );
    // A file that cannot be parsed into values still refuses before printing.
    writeFileSync(file, '{"workers": ');
    const broken = await cli(['config', 'show', '--config', file]);
    expect(broken.code).toBe(78);
    expect(broken.stdout).toBe('');
  });

  it('config show gives each value and where it came from; $XDG_CONFIG_HOME/runbox/config.json is read', async () => {
    const xdg = join(sandbox.dataDir, 'xdg');
    mkdirSync(join(xdg, 'runbox'), { recursive: true });
    writeFileSync(join(xdg, 'runbox', 'config.json'), JSON.stringify({ workers: 7 }));
    const shown = await cli(['config', 'show', '--json', '--data-dir', sandbox.dataDir], {
      XDG_CONFIG_HOME: xdg,
      RUNBOX_PORT: '7171',
      RUNBOX_TOKEN: 'secret-token',
    });
    expect(shown.code, shown.stderr).toBe(0);
    const body = JSON.parse(shown.stdout) as {
      config: Record<string, unknown>;
      sources: Record<string, string>;
    };
    expect(body.config).toMatchObject({ workers: 7, port: 7171, token: '[set]' });
    expect(body.sources).toMatchObject({
      workers: join(xdg, 'runbox', 'config.json'),
      port: 'env RUNBOX_PORT',
      dataDir: 'flag',
      'limits.logBytes': 'default',
    });
    expect(shown.stdout).not.toContain('secret-token');
    const table = await cli(['config'], { XDG_CONFIG_HOME: xdg });
    expect(table.stdout).toMatch(/workers\s+7\s+.*xdg\/runbox\/config\.json/);
  });
});

describe('the Docker engine, found as the docker CLI finds it', () => {
  it('runs a job through DOCKER_HOST=tcp://, and doctor follows the current docker context', async () => {
    const tcp = await dockerRelay(0);
    const socketPath = join(sandbox.dataDir, 'relay.sock');
    const unix = await dockerRelay(socketPath);
    try {
      const job = script('engine.sh', 'echo via relay\n');
      const run = await cli(['run', job, ...local()], {
        DOCKER_HOST: `tcp://127.0.0.1:${tcp.port}`,
        RUNBOX_DOCKER_SOCKET: '',
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe('via relay\n');
      expect(tcp.connections()).toBeGreaterThan(0);

      // A docker context named "relay" whose endpoint is the unix relay.
      const dockerConfig = join(sandbox.dataDir, 'docker-config');
      const { createHash } = await import('node:crypto');
      const meta = join(
        dockerConfig,
        'contexts',
        'meta',
        createHash('sha256').update('relay').digest('hex'),
      );
      mkdirSync(meta, { recursive: true });
      writeFileSync(
        join(meta, 'meta.json'),
        JSON.stringify({ Name: 'relay', Endpoints: { docker: { Host: `unix://${socketPath}` } } }),
      );
      writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ currentContext: 'relay' }));
      const env = { DOCKER_CONFIG: dockerConfig, DOCKER_HOST: '', RUNBOX_DOCKER_SOCKET: '' };
      const doctor = await cli(['doctor', '--json', ...local()], env);
      const checks = (
        JSON.parse(doctor.stdout) as {
          checks: Array<{ name: string; state: string; detail: string }>;
        }
      ).checks;
      expect(checks[0]).toMatchObject({ name: 'docker engine', state: 'ok' });
      expect(checks[0]!.detail).toContain(`unix://${socketPath}`);
      expect(unix.connections()).toBeGreaterThan(0);
      // RUNBOX_DOCKER_SOCKET wins over both.
      const shown = await cli(['config', 'show', '--json'], {
        ...env,
        RUNBOX_DOCKER_SOCKET: '/var/run/docker.sock',
      });
      expect(JSON.parse(shown.stdout)).toMatchObject({
        config: { dockerSocket: '/var/run/docker.sock' },
        sources: { dockerSocket: 'env RUNBOX_DOCKER_SOCKET' },
      });
    } finally {
      tcp.server.close();
      unix.server.close();
    }
  });
});

describe('default runtimes after scripts/test-env', () => {
  it('runs hello.py, hello.js and hello.sh on the embedded runtimes, offline; an image with a .sh needs no --command', async () => {
    // No runtimes in this config: the defaults (python:3.11-slim, node:20-slim,
    // debian:bookworm-slim) as a new user gets them, with pulls forbidden.
    const configFile = join(sandbox.dataDir, 'defaults.json');
    writeFileSync(
      configFile,
      JSON.stringify({ instance: TEST_INSTANCE, defaults: { pullPolicy: 'never' } }),
    );
    const base = ['--config', configFile, '--data-dir', sandbox.dataDir];
    for (const [file, says] of [
      ['hello.py', 'hello from python /work /outputs /work 65534'],
      ['hello.js', 'hello from node /work /outputs /work 65534'],
      ['hello.sh', 'hello from sh /work /outputs /work 65534'],
    ] as const) {
      const run = await cli(['run', join('fixtures/jobs', file), ...base]);
      expect(run.code, `${file}: ${run.stderr}`).toBe(0);
      expect(run.stdout).toBe(`${says}\n`);
    }
    const json = script('uses_json.py', 'import json\nprint(json.dumps({"ok": True}))\n');
    const stdlib = await cli(['run', json, ...base]);
    expect(stdlib.stdout).toBe('{"ok": true}\n');
    const shell = await cli([
      'run',
      join('fixtures/jobs', 'hello.sh'),
      '--image',
      'runbox-test/shell:latest',
      ...base,
    ]);
    expect(shell.code, shell.stderr).toBe(0);
    expect(shell.stdout).toBe('hello from sh /work /outputs /work 65534\n');
    expect(readFileSync('fixtures/jobs/hello.sh', 'utf8')).toContain('hello from sh');
  });
});
