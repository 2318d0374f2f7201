import { describe, expect, it } from 'vitest';
import { valuesStartingWithDash } from '../../src/cli/runCommands.js';

describe('valuesStartingWithDash', () => {
  it('joins a flag and a value that starts with a dash and a digit, and nothing else', () => {
    expect(valuesStartingWithDash(['run', '--memory', '-5m', 'job.sh'])).toEqual([
      'run',
      '--memory=-5m',
      'job.sh',
    ]);
    expect(valuesStartingWithDash(['--cpus', '-.5', '--priority', '-3'])).toEqual([
      '--cpus=-.5',
      '--priority=-3',
    ]);
    // Short flags, words, values already joined and the job's own words after -- stay.
    expect(valuesStartingWithDash(['ls', '-q', '--limit=-1', '--json', '-f'])).toEqual([
      'ls',
      '-q',
      '--limit=-1',
      '--json',
      '-f',
    ]);
    expect(valuesStartingWithDash(['run', 'job.sh', '--', '--n', '-5'])).toEqual([
      'run',
      'job.sh',
      '--',
      '--n',
      '-5',
    ]);
  });
});
