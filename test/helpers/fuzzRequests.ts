/**
 * Deterministic malformed requests for the API fuzz case (test/chaos/apiFuzz.test.ts).
 * Every request built here is invalid by construction (a wrong type, a missing or
 * unknown field, a bad id, an odd content type, broken bytes, a path that tries to
 * leave the job's outputs...), so the only right answers are 4xx and no write.
 */

export interface FuzzRequest {
  kind: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as these bytes. */
  raw?: Buffer | string;
}

type Random = () => number;

const pick = <T>(random: Random, items: readonly T[]): T =>
  items[Math.floor(random() * items.length)]!;

/** A valid submission; every generator breaks it in one or more ways. */
export function validSpec(): Record<string, unknown> {
  return {
    runtime: 'shell',
    script: { path: 'job.sh', content: 'echo hi' },
    env: { A: 'b' },
    timeout_seconds: 10,
  };
}

/** Values of the wrong type (or out of range) for each top-level field. */
const WRONG: Record<string, unknown[]> = {
  runtime: [5, true, null, [], {}, 'no-such-runtime', '', 'shell\0', 'x'.repeat(5000)],
  image: [7, null, '', '../../etc', 'UPPER CASE', '-rm', 'a'.repeat(300), { name: 'x' }],
  script: ['echo', 5, null, [], { path: 'x.sh' }, { content: 'x' }, { path: '', content: 'x' }],
  files: [{}, 'x', 5, null, [5], [{ path: 'a' }], new Array(1001).fill({ path: 'a', content: '' })],
  command: ['ls', 5, [], [1, 2], null, {}, [null]],
  args: ['x', 5, [1], [{}], {}, null],
  env: [[], 'A=B', 5, null, { A: 1 }, { A: null }, { A: ['x'] }, { A: { b: 'c' } }],
  secret_env: ['A', 5, [1], {}, null, ['NOPE'], [['A']]],
  timeout_seconds: ['10', -1, 0, null, [], {}, true, 1e12, 'Infinity'],
  limits: [
    'big',
    5,
    [],
    { memory: -5 },
    { memory: '1k' },
    { memory: 'lots' },
    { cpus: 0 },
    { cpus: -1 },
    { cpus: 1e6 },
    { pids: 0 },
    { pids: 1.5 },
    { swap: 1 },
  ],
  network: ['host', 'container:x', 5, null, true, 'BRIDGE', ''],
  pull_policy: ['sometimes', 5, null, [], ''],
  priority: [1.5, 'high', 5000, -5000, null, [], {}],
  run_at: ['yesterday', 5, null, '', '2024-13-45T99:99:99Z', 'not a date', []],
  max_attempts: [0, -1, 1.5, 101, '3', null, []],
  retry_on_exit_codes: [[0], [256], [-1], ['1'], 5, 'x', [1.5], null],
  idempotency_key: ['', 5, null, 'k'.repeat(201), [], {}],
};

const ENV_NAMES = ['1A', 'A-B', 'A=B', '', ' A', 'RUNBOX_WORK', 'RUNBOX_OUTPUTS', 'A\u0000'];
const FILE_PATHS = [
  '../x',
  '/etc/passwd',
  'a/../../b',
  '..',
  '.',
  'a\u0000b',
  '../../../../../../../../etc/shadow',
  '',
];

const TRAVERSALS = [
  '../../../../etc/passwd',
  '..%2f..%2f..%2fetc%2fpasswd',
  '%2e%2e/%2e%2e/etc/passwd',
  '%252e%252e%252fetc%252fpasswd',
  '..%5c..%5cwindows',
  '/etc/passwd',
  '%2fetc%2fpasswd',
  'a/./b',
  'a//b',
  'marker%00.txt',
  'marker/../../../runbox.db',
  '....//....//etc/passwd',
  '%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd',
  '..\\..\\etc\\passwd',
  '.%2e/.%2e/etc/passwd',
  'nope.txt',
  '%ff%fe',
];

const BAD_IDS = [
  '..',
  '..%2f..%2fetc%2fpasswd',
  '%00',
  'a'.repeat(65),
  'a'.repeat(5000),
  '%ff%fe%fd',
  '%e2%80%ae',
  'DROP%20TABLE%20jobs',
  "1'%20OR%20'1'='1",
  '%2e%2e',
  '01ZZZZZZZZZZZZZZZZZZZZZZZZ',
  'nosuchjob',
  '-',
  '_',
  '%25',
  '%u002e',
];

const CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/octet-stream',
  'image/png',
  'application/json-seq',
  'text/json; charset=utf-7',
  '',
  'application/',
  ';;;',
];

function deep(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? '['.repeat(depth) + ']'.repeat(depth)
    : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** One submission broken at random. */
function brokenSubmission(random: Random): FuzzRequest {
  const spec = validSpec();
  const mode = Math.floor(random() * 8);
  switch (mode) {
    case 0: {
      const field = pick(random, Object.keys(WRONG));
      spec[field] = pick(random, WRONG[field]!);
      if (field === 'image') delete spec.runtime;
      // A wrong secret_env type, or a secret name not in env, is always refused.
      return { kind: `wrong-type:${field}`, method: 'POST', path: '/v1/jobs', body: spec };
    }
    case 1: {
      delete spec.runtime;
      if (random() < 0.5) delete spec.script;
      return { kind: 'missing-runtime', method: 'POST', path: '/v1/jobs', body: spec };
    }
    case 2: {
      spec[
        pick(random, [
          'colour',
          'Runtime',
          'script ',
          '__proto__x',
          'privileged',
          'volumes',
          'user',
        ])
      ] = 1;
      return { kind: 'unknown-field', method: 'POST', path: '/v1/jobs', body: spec };
    }
    case 3: {
      spec.env = { [pick(random, ENV_NAMES)]: 'x' };
      return { kind: 'bad-env-name', method: 'POST', path: '/v1/jobs', body: spec };
    }
    case 4: {
      const path = pick(random, FILE_PATHS);
      if (random() < 0.5) spec.script = { path, content: 'x' };
      else spec.files = [{ path, content: 'x' }];
      return { kind: 'file-traversal', method: 'POST', path: '/v1/jobs', body: spec };
    }
    case 5: {
      spec.files = [
        {
          path: 'a.bin',
          content: pick(random, ['***', '%%%', 'a$b', '\u00e9\u00e9']),
          encoding: 'base64',
        },
      ];
      return { kind: 'bad-base64', method: 'POST', path: '/v1/jobs', body: spec };
    }
    case 6: {
      const bodies = [
        '{"__proto__": {"polluted": true}, "runtime": "shell"}',
        '{"constructor": {"prototype": {"polluted": true}}}',
        'null',
        '[]',
        '"job"',
        '42',
        'true',
        '{',
        '{"runtime": "shell",}',
        "{'runtime': 'shell'}",
        '{"runtime": "shell"} trailing',
        '\ufeff{"runtime":"shell"}',
        '{"runtime":"shell","runtime":5}',
        '{"a":1e999999}',
        '{"runtime": NaN}',
      ];
      return {
        kind: 'bad-json',
        method: 'POST',
        path: '/v1/jobs',
        raw: pick(random, bodies),
        headers: { 'content-type': 'application/json' },
      };
    }
    default: {
      spec.secret_env = ['NOT_IN_ENV'];
      return { kind: 'secret-not-in-env', method: 'POST', path: '/v1/jobs', body: spec };
    }
  }
}

function invalidUtf8(random: Random): FuzzRequest {
  const prefix = Buffer.from('{"runtime":"shell","script":{"path":"job.sh","content":"');
  const bad = pick(random, [
    Buffer.from([0xff, 0xfe]),
    Buffer.from([0xc0, 0xae]),
    Buffer.from([0xed, 0xa0, 0x80]),
    Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]),
    Buffer.from([0x80]),
  ]);
  // Broken bytes inside an otherwise valid spec, then a wrong-type field so that a
  // decoder that replaces them with U+FFFD still faces an invalid spec.
  const suffix = Buffer.from('"},"timeout_seconds":"soon"}');
  return {
    kind: 'invalid-utf8',
    method: 'POST',
    path: '/v1/jobs',
    raw: Buffer.concat([prefix, bad, suffix]),
    headers: { 'content-type': 'application/json' },
  };
}

/**
 * Builds `count` malformed requests from `seed`. `jobId` is a real finished job with
 * an output named "marker", so output-path traversal is tried against a job that has
 * outputs.
 */
export function fuzzRequests(
  random: Random,
  count: number,
  jobId: string,
  bodyLimit: number,
): FuzzRequest[] {
  const makers: Array<(r: Random) => FuzzRequest> = [
    brokenSubmission,
    brokenSubmission,
    brokenSubmission,
    invalidUtf8,
    (r) => ({
      kind: 'content-type',
      method: 'POST',
      path: '/v1/jobs',
      raw: JSON.stringify(validSpec()),
      headers: { 'content-type': pick(r, CONTENT_TYPES) },
    }),
    (r) => ({
      kind: 'no-body',
      method: pick(r, ['POST']),
      path: pick(r, ['/v1/jobs', '/v1/jobs/batch']),
      raw: '',
      headers: { 'content-type': 'application/json' },
    }),
    (r) => ({
      kind: 'deep-body',
      method: 'POST',
      path: '/v1/jobs',
      // Deep but under the body limit, so nesting (not size) is what is refused.
      raw: deep(pick(r, [1000, 10_000, 40_000]), pick(r, ['array', 'object'] as const)),
      headers: { 'content-type': 'application/json' },
    }),
    (r) => ({
      kind: 'bad-id',
      method: pick(r, ['GET', 'GET', 'POST']),
      path: `/v1/jobs/${pick(r, BAD_IDS)}${pick(r, ['', '', '/cancel', '/logs', '/outputs', '/outputs.tar.zst'])}`,
    }),
    (r) => ({
      kind: 'output-traversal',
      method: 'GET',
      path: `/v1/jobs/${jobId}/outputs/${pick(r, TRAVERSALS)}`,
      headers:
        r() < 0.3
          ? {
              range: pick(r, [
                'bytes=5-1',
                'bytes=-0',
                'bytes=99999999-',
                'bytes=a-b',
                'lines=1-2',
              ]),
            }
          : {},
    }),
    (r) => ({
      kind: 'bad-query',
      method: 'GET',
      path: pick(r, [
        '/v1/jobs?limit=0',
        '/v1/jobs?limit=-1',
        '/v1/jobs?limit=abc',
        '/v1/jobs?limit=100000',
        '/v1/jobs?status=exploded',
        '/v1/jobs?cursor=..%2f..',
        '/v1/jobs?cursor=%00',
        '/v1/jobs?colour=red',
        `/v1/jobs/${jobId}?wait=maybe`,
        `/v1/jobs/${jobId}?wait_seconds=-1`,
        `/v1/jobs/${jobId}?wait_seconds=99999`,
        `/v1/jobs/${jobId}/logs?stream=stdin`,
        `/v1/jobs/${jobId}/logs?follow=perhaps`,
      ]),
    }),
    (r) => ({
      kind: 'batch',
      method: 'POST',
      path: '/v1/jobs/batch',
      body: pick(r, [
        { jobs: [] },
        { jobs: 'x' },
        { job: [validSpec()] },
        [validSpec()],
        { jobs: [validSpec(), { ...validSpec(), runtime: 5 }] },
        { jobs: [validSpec(), validSpec(), { runtime: 'shell' }] },
        { jobs: new Array(1001).fill(validSpec()) },
      ]),
    }),
    (r) => ({
      kind: 'method',
      method: pick(r, ['PUT', 'DELETE', 'PATCH']),
      path: pick(r, [
        '/v1/jobs',
        `/v1/jobs/${jobId}`,
        '/healthz',
        '/v1/workers',
        `/v1/jobs/${jobId}/outputs/marker`,
      ]),
    }),
    (r) => ({
      kind: 'huge-body',
      method: 'POST',
      path: pick(r, ['/v1/jobs', '/v1/jobs/batch']),
      raw: `{"runtime":"shell","script":{"path":"a","content":"${'x'.repeat(bodyLimit + 1024)}"}}`,
      headers: { 'content-type': 'application/json' },
    }),
    (r) => ({
      kind: 'unknown-route',
      method: pick(r, ['GET', 'POST']),
      path: pick(r, [
        '/v2/jobs',
        '/v1/job',
        '/../../etc/passwd',
        '/%2e%2e/runbox.db',
        '/v1/jobs/../../runbox.db',
        '/admin',
        '/v1/jobs/%2e%2e/%2e%2e',
      ]),
    }),
  ];
  const requests: FuzzRequest[] = [];
  for (let i = 0; i < count; i++) {
    const maker = pick(random, makers);
    const request = maker(random);
    // The expensive ones are kept rare: a huge body costs bodyLimit bytes to send.
    if ((request.kind === 'huge-body' || request.kind === 'deep-body') && random() < 0.9) {
      requests.push(brokenSubmission(random));
      continue;
    }
    requests.push(request);
  }
  return requests;
}
